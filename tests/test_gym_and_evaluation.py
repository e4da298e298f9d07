"""Gymnasium ids as a second backend, and evaluation under the papers' protocols."""

import json
import os
import re
import shlex
import signal
import statistics
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, TINY_RUN, assert_clear_error, copy_toolkit, made_once, run_command, run_main, run_script
from simple_dqn.command_line import parse_options
from simple_dqn.dqn.environment import ALEEnvironment
from simple_dqn.dqn.environments import make_environment
from simple_dqn.dqn.gym_environment import GymEnvironment, safe_name
from simple_dqn.dqn.settings import EnvironmentSettings
from simple_dqn.runs.evaluation import protocol_overrides
from simple_dqn.runs.results_csv import read_csv_rows
from simple_dqn.runs.scores import human_normalised
from simple_dqn.sweeps.run import plan_runs
from simple_dqn.sweeps.summary import game_results, write_summary


@pytest.fixture(scope="module")
def gym_run(tmp_path_factory):
    """One tiny epoch of ALE/Breakout-v5 through Gymnasium, named after the id made safe."""
    folder = tmp_path_factory.mktemp("gym")
    result = run_main("ALE/Breakout-v5", "--environment", "gym", *TINY_RUN, "--epochs", "1", "--random_seed", "5",
                      "--save_weights_prefix", str(folder / "{game}"), "--csv_file", str(folder / "{game}.csv"))
    assert result.returncode == 0, result.stderr
    return folder


@pytest.mark.slow
def test_a_short_training_run_on_a_gymnasium_id_writes_a_snapshot_and_a_csv(gym_run):
    assert (gym_run / "ALE-Breakout-v5_1.pkl").is_file()
    rows = read_csv_rows(gym_run / "ALE-Breakout-v5.csv")
    assert [row["phase"] for row in rows] == ["random", "train", "test"]
    assert int(rows[1]["weight_updates"]) == 100


def test_ids_become_safe_file_names():
    assert safe_name("ALE/Breakout-v5") == "ALE-Breakout-v5"
    assert safe_name("Breakout-v0") == "Breakout-v0"


def test_a_noframeskip_id_gets_the_same_screens_and_rewards_as_the_ale_backend():
    """Our frame skip and max-pooling apply to NoFrameskip ids; Breakout without sticky actions is deterministic.

    Only the screen of game over itself may differ (no state is made of it).
    """
    gym = GymEnvironment(EnvironmentSettings(game="BreakoutNoFrameskip-v4"), seed=1, random_starts=0)
    ale = ALEEnvironment(EnvironmentSettings(game="breakout"), seed=2, random_starts=0)
    gym.new_games()
    ale.new_games()
    steps = 0
    for action in np.random.default_rng(0).integers(0, 4, 1000):
        gym.send(np.array([action]))
        ale.send(np.array([action]))
        from_gym, from_ale = gym.receive(), ale.receive()
        for field in from_gym._fields:
            np.testing.assert_array_equal(getattr(from_gym, field), getattr(from_ale, field))
        if from_gym.game_overs[0]:
            break
        gym.begin_next(from_gym)
        ale.begin_next(from_ale)
        np.testing.assert_array_equal(gym.states(), ale.states())
        steps += 1
    assert from_gym.game_overs[0] and steps > 100


def test_an_id_that_skips_frames_itself_keeps_its_frame_skip_and_sticky_actions():
    env = GymEnvironment(EnvironmentSettings(game="ALE/Breakout-v5", frame_skip=2))
    assert env.skips_frames_itself and env.frame_skip == 4
    assert env.ale.getFloat("repeat_action_probability") == pytest.approx(0.25)
    env.new_game()
    env.act(0)
    assert env.episode_frames() == 4
    assert env.get_screen().shape == (84, 84)
    v0 = GymEnvironment(EnvironmentSettings(game="Breakout-v0"), seed=3)
    assert v0.frame_skip == [2, 3, 4]
    v0.new_game()
    skips = set()
    for _ in range(40):
        before = v0.episode_frames()
        v0.act(0)
        skips.add(v0.episode_frames() - before)
    assert skips == {2, 3, 4}


def test_losing_a_life_on_a_gymnasium_id_ends_the_episode_in_train_mode_only():
    for mode in ("train", "test"):
        env = GymEnvironment(EnvironmentSettings(game="BreakoutNoFrameskip-v4"))
        env.set_mode(mode)
        env.new_games()
        terminals = []
        while env.lives() == 5:
            env.send(np.array([1 if len(terminals) % 10 == 0 else 2]))
            step = env.receive()
            terminals.append(bool(step.terminals[0]))
        assert terminals[-1] == (mode == "train") and not any(terminals[:-1])
        assert not step.game_overs[0]


@pytest.mark.slow
def test_an_unknown_id_is_answered_with_the_closest_ones():
    assert_clear_error(run_main("Breakot-v0", "--environment", "gym", "--play_games", "1"),
                       "unknown Gymnasium Atari id 'Breakot-v0'", "Breakout-v0")
    assert_clear_error(run_main("space_invaders", "--environment", "gym", "--play_games", "1"),
                       "is a game, not a Gymnasium id", "SpaceInvaders-v0")


@pytest.mark.slow
def test_an_evaluation_needs_a_snapshot_and_games(trained_run):
    assert_clear_error(run_main("breakout", "--protocol", "nature"), "give --load_weights")
    assert_clear_error(run_script("evaluate.sh", str(trained_run / "breakout_2.pkl"), "--episodes", "0"),
                       "give --episodes 1 or more")


@pytest.mark.parametrize("environment, game", [("ale", "breakout"), ("gym", "ALE/Breakout-v5")])
def test_the_protocols_reach_the_environment(environment, game):
    nature = parse_options([game, "--environment", environment, "--protocol", "nature"])
    assert (nature.loop.play_games, nature.agent.random_starts, nature.agent.exploration_rate_test,
            nature.environment.max_test_frames) == (30, 30, 0.05, 18_000)
    assert make_environment(nature.environment, seed=0).ale.getFloat("repeat_action_probability") == 0
    machado = parse_options([game, "--environment", environment, "--protocol", "machado", "--episodes", "5"])
    assert (machado.loop.play_games, machado.agent.random_starts, machado.environment.max_test_frames,
            machado.environment.terminal_on_life_loss) == (5, 0, 108_000, False)
    assert make_environment(machado.environment, seed=0).ale.getFloat("repeat_action_probability") == \
        pytest.approx(0.25)


@pytest.mark.parametrize("environment, game", [("ale", "breakout"), ("gym", "ALE/Breakout-v5")])
def test_nature_games_start_with_1_to_30_no_op_frames(environment, game):
    """Counted in frames, below the frame skip: what the emulator played before the agent's first choice."""
    options = parse_options([game, "--environment", environment, "--protocol", "nature"])
    env = make_environment(options.environment, seed=0, agent=options.agent)
    no_ops = []
    for _ in range(60):
        env.new_games()
        no_ops.append(env.episode_frames())
    assert all(count in range(1, 31) for count in no_ops)
    assert len(set(no_ops)) > 15 and {count % 4 for count in no_ops} == {0, 1, 2, 3}


def evaluate(snapshot, folder, *options):
    result = run_script("evaluate.sh", str(snapshot), "--episodes", "3", "--max_test_frames", "400",
                        "--results_folder", str(folder), "--progress", "false", *options)
    assert result.returncode == 0, result.stderr
    return read_csv_rows(folder / "episodes.csv"), json.loads((folder / "summary.json").read_text())


@pytest.mark.slow
def test_evaluate_sh_follows_the_nature_protocol_and_stops_each_game_at_the_frame_cap(trained_run, tmp_path):
    rows, summary = evaluate(trained_run / "breakout_2.pkl", tmp_path, "--random_seed", "2")
    # Breakout cannot lose all five lives in 400 frames; the cap ends a game at the step that reaches it, which the
    # no-op frames leave at any phase of the frame skip.
    assert all(400 <= int(row["frames"]) <= 403 for row in rows) and len(rows) == 3
    assert summary["protocol"] == "nature" and summary["overrides"] == {"play_games": 3, "max_test_frames": 400}
    assert summary["settings"] == {"no_op_starts_up_to": 30, "no_op_unit": "frames", "exploration_rate": 0.05,
                                   "max_frames_per_game": 400, "sticky_actions": 0.0, "frame_skip": 4,
                                   "life_loss_ends_episode": False}


@pytest.mark.slow
def test_the_same_seed_gives_the_same_evaluation(trained_run, tmp_path):
    options = ("--protocol", "machado", "--max_test_frames", "2000", "--random_seed", "9")
    first = evaluate(trained_run / "breakout_2.pkl", tmp_path / "a", *options)[0]
    assert evaluate(trained_run / "breakout_2.pkl", tmp_path / "b", *options)[0] == first


def test_the_summary_names_the_protocol_settings_the_command_line_changed():
    faithful = parse_options(["breakout", "--protocol", "nature", "--load_weights", "x.pkl"])
    assert protocol_overrides("nature", faithful.values()) == {}
    changed = parse_options(["breakout", "--protocol", "nature", "--episodes", "5", "--random_starts", "30"])
    assert protocol_overrides("nature", changed.values()) == {"play_games": 5}
    assert protocol_overrides(None, changed.values()) == {}


def test_a_protocol_overrides_what_the_snapshot_was_trained_with():
    options = parse_options(["--protocol", "nature"], snapshot_options={"repeat_action_probability": 0.25,
                                                                       "random_starts": 5, "noop_unit": "steps",
                                                                       "game": "breakout"})
    assert (options.environment.repeat_action_probability, options.agent.random_starts,
            options.agent.noop_unit) == (0.0, 30, "frames")
    explicit = parse_options(["--protocol", "nature", "--repeat_action_probability", "0.1"],
                             snapshot_options={"repeat_action_probability": 0.25})
    assert explicit.environment.repeat_action_probability == 0.1


@pytest.mark.slow
def test_test_gym_sh_writes_a_row_per_game_and_a_summary_of_them(gym_run, tmp_path):
    result = run_script("test_gym.sh", str(gym_run / "ALE-Breakout-v5_1.pkl"), "--episodes", "3",
                        "--max_test_frames", "600", "--results_folder", str(tmp_path), "--progress", "false")
    assert result.returncode == 0, result.stderr
    rows = read_csv_rows(tmp_path / "episodes.csv")
    summary = json.loads((tmp_path / "summary.json").read_text())
    returns = [float(row["return"]) for row in rows]
    assert len(rows) == summary["episodes"] == 3
    assert summary["mean"] == pytest.approx(statistics.fmean(returns))
    assert summary["min"] == min(returns) and summary["max"] == max(returns)
    assert summary["protocol"] == "gym" and summary["environment"] == "gym ALE/Breakout-v5"
    assert set(summary["versions"]) >= {"ale-py", "gymnasium"}
    assert "human-normalised" in result.stdout


@pytest.mark.slow
def test_a_snapshot_of_another_game_is_refused_on_a_gymnasium_id(gym_run):
    assert_clear_error(run_main("Pong-v0", "--load_weights", str(gym_run / "ALE-Breakout-v5_1.pkl"), "--episodes", "1"),
                       "trained on breakout, not pong")


def test_the_human_normalised_score_is_the_papers_formula():
    breakout = human_normalised("breakout", 401.2)
    assert breakout.percent == pytest.approx(100 * (401.2 - 1.7) / (31.8 - 1.7))  # 1327%, as Nature reports
    assert breakout.table == "nature"
    skiing = human_normalised("skiing", -5000)  # not in Nature's table: the 57-game one
    assert skiing.table == "atari57"
    assert skiing.percent == pytest.approx(100 * (-5000 + 17098.1) / (-4336.9 + 17098.1))
    assert human_normalised("not_a_game", 1.0) is None


@pytest.mark.slow
def test_the_readme_path_train_sh_on_an_id_then_evaluate_sh_and_test_gym_sh_into_results(tmp_path):
    """As README shows it, in a copy of the toolkit so the real snapshots/ and results/ stay untouched."""
    toolkit = copy_toolkit(tmp_path)
    trained = run_command([str(toolkit / "train.sh"), "Breakout-v0", "--environment", "gym", *TINY_RUN,
                           "--epochs", "1", "--test_steps", "0"])
    assert trained.returncode == 0, trained.stderr
    snapshot = toolkit / "snapshots" / "Breakout-v0_1.pkl"
    assert snapshot.is_file() and (toolkit / "results" / "Breakout-v0.csv").is_file()
    short = ["--episodes", "2", "--max_test_frames", "300", "--progress", "false"]
    evaluated = run_command([str(toolkit / "evaluate.sh"), str(snapshot), *short])
    assert evaluated.returncode == 0, evaluated.stderr
    summary = json.loads((toolkit / "results" / "Breakout-v0" / "nature" / "summary.json").read_text())
    assert summary["protocol"] == "nature" and summary["episodes"] == 2
    assert summary["settings"]["sticky_actions"] == 0.0  # nature turns off the id's sticky actions
    tested = run_command([str(toolkit / "test_gym.sh"), str(snapshot), *short])
    assert tested.returncode == 0, tested.stderr
    summary = json.loads((toolkit / "results" / "Breakout-v0" / "summary.json").read_text())
    assert summary["protocol"] == "gym" and summary["settings"]["sticky_actions"] == 0.25
    assert summary["settings"]["frame_skip"] == [2, 3, 4]


# An evaluation stopped by Ctrl-C or SIGTERM keeps the games it played: the shipped agent, games of 400 frames.
AGENT = ROOT / "agents" / "breakout.pkl"
SHORT_GAMES = ["--max_test_frames", "400", "--backend", "cpu"]


def stopped_after_games(script: str, arguments: list[str], stop: signal.Signals) -> subprocess.CompletedProcess:
    """``script`` with ``arguments``, sent ``stop`` once its progress bar counts two finished games."""
    process = subprocess.Popen([str(ROOT / script), *arguments], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert process.stderr is not None
    seen = b""
    while max(map(int, re.findall(rb"games=(\d+)", seen)), default=0) < 2:
        chunk = os.read(process.stderr.fileno(), 4096)  # the bar ends its updates with \r, not a line
        assert chunk, seen.decode()
        seen += chunk
    process.send_signal(stop)
    stdout, rest = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout.decode(), (seen + rest).decode())


def kept_games(result: subprocess.CompletedProcess, folder: Path, planned: int) -> tuple[dict, list[str]]:
    """What a stopped evaluation kept, checked against what it says: its summary, and the command of the rest."""
    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    said = re.search(rf"stopped after (\d+) of {planned} games; (.+)/episodes.csv and summary.json hold them, marked "
                     r"incomplete; play the other (\d+) with a seed and a folder of their own: (.+)", result.stderr)
    assert said, result.stderr
    played = int(said[1])
    assert 2 <= played < planned and int(said[3]) == planned - played and said[2] == str(folder)
    rows = read_csv_rows(folder / "episodes.csv")
    summary = json.loads((folder / "summary.json").read_text())
    returns = [float(row["return"]) for row in rows]
    assert len(rows) == summary["episodes"] == played
    assert summary["complete"] is False and summary["episodes_planned"] == planned
    assert summary["mean"] == pytest.approx(statistics.fmean(returns)) and summary["max"] == max(returns)
    assert f": {played} of {planned} games (stopped early), mean {summary['mean']:.1f} ± {summary['std']:.1f} " \
           f"(min {min(returns):g}, max {max(returns):g})" in result.stdout
    return summary, shlex.split(said[4])


@pytest.fixture
def stopped_evaluation(tmp_path_factory, worker_id) -> tuple[subprocess.CompletedProcess, Path]:
    """evaluate.sh stopped by Ctrl-C after a few of its 12 games, its results where a sweep's run keeps them; made
    once for the tests that look at it."""
    def stop(sweep: Path) -> dict:
        folder = sweep / "breakout_s4" / "evaluation"
        result = stopped_after_games("evaluate.sh", [str(AGENT), "--episodes", "12", *SHORT_GAMES, "--random_seed",
                                                     "4", "--results_folder", str(folder)], signal.SIGINT)
        return {"returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr,
                "folder": str(folder)}
    made = made_once(tmp_path_factory, worker_id, "stopped_evaluation", stop)
    return subprocess.CompletedProcess([], made["returncode"], made["stdout"], made["stderr"]), Path(made["folder"])


@pytest.mark.slow
def test_an_evaluation_stopped_by_ctrl_c_writes_the_games_it_played_marked_incomplete(stopped_evaluation):
    result, folder = stopped_evaluation
    summary, _ = kept_games(result, folder, 12)
    assert summary["random_seed"] == 4 and summary["protocol"] == "nature"


@pytest.mark.slow
def test_the_rest_of_a_stopped_evaluation_is_played_by_the_command_it_prints_with_a_seed_and_folder_of_its_own(
        stopped_evaluation):
    result, folder = stopped_evaluation
    summary, rest = kept_games(result, folder, 12)
    left = 12 - summary["episodes"]
    assert rest == ["./evaluate.sh", str(AGENT), "--protocol", "nature", *SHORT_GAMES, "--episodes", str(left),
                    "--random_seed", "5", "--results_folder", str(folder / "rest")]
    kept = {name: (folder / name).read_bytes() for name in ("episodes.csv", "summary.json")}
    played = run_command([str(ROOT / rest[0]), *rest[1:], "--progress", "false"])
    assert played.returncode == 0, played.stderr
    rest_summary = json.loads((folder / "rest" / "summary.json").read_text())
    assert rest_summary["complete"] is True and rest_summary["episodes"] == rest_summary["episodes_planned"] == left
    assert rest_summary["random_seed"] == 5 and rest_summary["settings"] == summary["settings"]
    assert {name: (folder / name).read_bytes() for name in kept} == kept


@pytest.mark.slow
def test_export_sh_refuses_an_evaluation_stopped_early_in_one_line(stopped_evaluation, tmp_path):
    result, folder = stopped_evaluation
    summary, _ = kept_games(result, folder, 12)
    refused = run_script("export.sh", str(AGENT), "--evaluation", str(folder), "--output", str(tmp_path / "export"),
                         "--video_frames", "0")
    assert_clear_error(refused, f"was stopped after {summary['episodes']} of 12 games")
    assert not (tmp_path / "export").exists()


@pytest.mark.slow
def test_a_sweep_counts_no_run_whose_evaluation_was_stopped_early(stopped_evaluation):
    result, folder = stopped_evaluation
    kept_games(result, folder, 12)
    sweep = folder.parent.parent
    specs = plan_runs(sweep, {"games": ["breakout"], "seeds": [4], "train_options": [], "protocol": "nature",
                              "evaluation_options": []})
    [row] = game_results(specs)
    assert row["runs"] == 0 and row["mean"] is None
    write_summary(sweep, specs)
    assert "Not evaluated (failed or unfinished): breakout_s4." in (sweep / "summary.md").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("script, options, stop, restated", [
    ("evaluate.sh", [], signal.SIGTERM, ["--protocol", "nature"]),
    ("test_gym.sh", ["Breakout-v0", "--environment", "gym"], signal.SIGTERM, ["Breakout-v0", "--environment", "gym"]),
    ("test.sh", [], signal.SIGINT, ["--random_steps", "0", "--train_steps", "0"]),
], ids=["evaluate.sh-SIGTERM", "test_gym.sh-SIGTERM", "test.sh-SIGINT"])
def test_every_evaluation_script_stopped_by_either_signal_keeps_what_it_played(tmp_path, script, options, stop,
                                                                              restated):
    result = stopped_after_games(script, [str(AGENT), *options, "--episodes", "12", *SHORT_GAMES, "--random_seed",
                                          "7", "--results_folder", str(tmp_path)], stop)
    summary, rest = kept_games(result, tmp_path, 12)
    assert rest == [f"./{script}", str(AGENT), *restated, *SHORT_GAMES, "--episodes", str(12 - summary["episodes"]),
                    "--random_seed", "8", "--results_folder", str(tmp_path / "rest")]
