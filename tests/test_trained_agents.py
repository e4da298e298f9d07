"""Trained agents (agents/*.pkl): a run's best snapshot as weights alone, taken by every script that plays one."""

import json
import os
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, assert_clear_error, run_command, run_script
from simple_dqn.errors import UsageError
from simple_dqn.runs.checkpoint import load_snapshot, save_weights_only
from simple_dqn.runs.results_csv import read_csv_rows
from simple_dqn.settings import file_options

SHIPPED = sorted((ROOT / "agents").glob("*.pkl"))
GYMNASIUM_CHECK = ROOT / "benchmarks" / "gymnasium_check.py"


@pytest.fixture(scope="module")
def made_agent(trained_run, tmp_path_factory):
    """The agent benchmarks/ship_agent.sh would make of the tiny trained run."""
    path = tmp_path_factory.mktemp("agent") / "breakout.pkl"
    result = run_command([sys.executable, "-m", "simple_dqn.trained_agent", str(trained_run / "breakout"),
                          str(trained_run / "breakout.csv"), str(path)])
    assert result.returncode == 0, result.stderr
    assert f"wrote {path}" in result.stdout
    return path


@pytest.fixture(params=["made", *(path.name for path in SHIPPED)])
def agent(request, made_agent):
    return made_agent if request.param == "made" else ROOT / "agents" / request.param


@pytest.mark.slow
def test_an_agent_is_the_weights_alone_of_the_snapshot_whose_test_scored_highest(made_agent, trained_run):
    tests = [row for row in read_csv_rows(trained_run / "breakout.csv") if row["phase"] == "test"]
    best = max(sorted(tests, key=lambda row: int(row["epoch"])), key=lambda row: float(row["average_reward"]))
    shipped, source = load_snapshot(made_agent), load_snapshot(trained_run / f"breakout_{best['epoch']}.pkl")
    assert shipped.weights_only and shipped.epoch == int(best["epoch"])
    assert set(shipped.contents["network"]) == {"online"}
    assert all(shipped.contents[part] is None for part in ("agent", "replay_memory", "environment", "torch_rng"))
    for name, weights in source.contents["network"]["online"].items():
        assert torch.equal(shipped.contents["network"]["online"][name], weights), name
    assert shipped.game == source.game and "csv_file" not in shipped.options  # no folder of the training machine
    assert {name: value for name, value in shipped.options.items() if name not in file_options()} == \
        {name: value for name, value in source.options.items() if name not in file_options()}


@pytest.mark.slow
def test_an_agent_can_be_made_of_the_snapshot_of_a_named_epoch(trained_run, tmp_path):
    def make(path, epoch):
        return run_command([sys.executable, "-m", "simple_dqn.trained_agent", str(trained_run / "breakout"),
                            str(trained_run / "breakout.csv"), str(path), epoch])
    result = make(tmp_path / "agent.pkl", "1")
    assert result.returncode == 0, result.stderr
    assert load_snapshot(tmp_path / "agent.pkl").epoch == 1
    assert_clear_error(make(tmp_path / "other.pkl", "9"), "breakout_9.pkl exists", "epochs 1, 2")
    assert not (tmp_path / "other.pkl").exists()


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_shipped_agents_are_small_weights_only_snapshots(path):
    assert path.stat().st_size < 8_000_000
    assert load_snapshot(path).weights_only


@pytest.mark.slow
def test_an_agent_cannot_be_resumed_but_starts_a_new_run(made_agent, tmp_path):
    assert_clear_error(run_script("resume.sh", str(made_agent)), "weights only", "without --resume")
    result = run_command([sys.executable, "-m", "simple_dqn", "--load_weights", str(made_agent), "--random_steps",
                          "100", "--train_steps", "100", "--test_steps", "0", "--replay_size", "500", "--epochs", "1",
                          "--validation_size", "32", "--progress", "false", "--backend", "cpu"])
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_test_sh_and_evaluate_sh_play_an_agent(agent, tmp_path):
    tested = run_script("test.sh", str(agent), "--test_steps", "300", "--max_test_frames", "400", "--progress",
                        "false")
    assert tested.returncode == 0, tested.stderr
    assert "test:" in tested.stderr
    evaluated = run_script("evaluate.sh", str(agent), "--episodes", "2", "--max_test_frames", "400",
                           "--results_folder", str(tmp_path), "--progress", "false")
    assert evaluated.returncode == 0, evaluated.stderr
    assert len(read_csv_rows(tmp_path / "episodes.csv")) == 2


@pytest.mark.slow
def test_record_sh_and_nvis_sh_play_an_agent(agent, tmp_path):
    recorded = run_script("record.sh", str(agent), "--max_test_frames", "200", "--video_file",
                          str(tmp_path / "game.mp4"), "--progress", "false")
    assert recorded.returncode == 0, recorded.stderr
    assert (tmp_path / "game.mp4").stat().st_size > 0
    page = tmp_path / "page.html"
    shown = run_script("nvis.sh", str(agent), "--visualization_file", str(page), "--max_test_frames", "400",
                       "--progress", "false")
    assert shown.returncode == 0, shown.stderr
    assert page.stat().st_size > 0


@pytest.mark.slow
def test_play_sh_plays_an_agent_in_a_window(agent, virtual_screen):
    environment = {**os.environ, "DISPLAY": virtual_screen, "SDL_AUDIODRIVER": "dummy"}
    result = subprocess.run([str(ROOT / "play.sh"), str(agent), "--max_test_frames", "300", "--progress", "false"],
                            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "play: " in result.stderr and "1 game," in result.stderr


def test_an_agent_is_made_of_a_snapshot_saved_at_an_epochs_end_only(tmp_path):
    stopped_mid_phase = load_snapshot(ROOT / "tests" / "fixtures" / "snapshot_version_1" / "breakout_2.pkl")
    with pytest.raises(UsageError, match="in the middle of a phase"):
        save_weights_only(stopped_mid_phase, tmp_path / "agent.pkl", file_options())
    assert not (tmp_path / "agent.pkl").exists()


def test_ship_agent_sh_refuses_a_run_that_is_not_there():
    assert_clear_error(run_command([str(ROOT / "benchmarks" / "ship_agent.sh"), "pong", "nosuch"]),
                       "no learning run in", "benchmarks/learning.sh pong nosuch")


@pytest.mark.slow
def test_gymnasium_check_plays_an_agent_under_gymnasiums_own_atari_preprocessing(agent):
    result = run_command([sys.executable, str(GYMNASIUM_CHECK), str(agent), "--episodes", "1"])
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["episodes"] == 1 and len(summary["returns"]) == 1 and summary["mean"] == summary["returns"][0]
    assert "NoFrameskip-v4, AtariPreprocessing(noop_max=30)" in summary["environment"]
    if agent.parent == ROOT / "agents":  # a shipped agent plays as well as its committed 30 games say
        committed = [json.loads(path.read_text())
                     for path in ROOT.glob("benchmarks/learning/*/evaluation/gymnasium.json")]
        games = next(check for check in committed if check["snapshot"] == f"agents/{agent.name}")
        assert summary["mean"] >= min(games["returns"]) - games["std"], (summary, games)


def test_gymnasium_check_refuses_a_number_of_games_below_one_in_one_line():
    assert_clear_error(run_command([sys.executable, str(GYMNASIUM_CHECK), "agents/pong.pkl", "--episodes", "0"]),
                       "--episodes", "at least 1")
