"""Sharing an agent: export.sh's folder, its model card, upload.sh and upload_gym.sh, and hf://USER/NAME played back.

Nothing here touches the network: the Hub is offline (HF_HUB_OFFLINE), with no token, and its cache
is a folder of the test's own, filled as a download would have left it.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest
import torch
import yaml
from huggingface_hub import ModelCard
from safetensors.torch import load, save_file

from conftest import MAIN, PAPER_SCREENS, ROOT, TINY_RUN, assert_clear_error
from simple_dqn import __version__
from simple_dqn.dqn.deepqnetwork import DeepQNetwork
from simple_dqn.dqn.settings import NetworkSettings
from simple_dqn.errors import UsageError
from simple_dqn.runs.agent_folder import CONFIG_FILE, MODEL_FILE
from simple_dqn.runs.checkpoint import load_snapshot
from simple_dqn.runs.evaluation import write_evaluation
from simple_dqn.settings import file_options
from simple_dqn.sharing.export import EXPORT_FILES, export

AGENT = ROOT / "agents" / "breakout.pkl"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    """agents/breakout.pkl exported without an evaluation or a replay."""
    folder = tmp_path_factory.mktemp("export") / "breakout"
    export(str(AGENT), folder, video_frames=0)
    return folder


def offline_hub(home: Path) -> dict[str, str]:
    """An environment whose Hugging Face Hub is unreachable, its token absent and its cache in ``home``."""
    environment = {name: value for name, value in os.environ.items()
                   if not name.startswith(("HF_", "HUGGING_FACE_", "HUGGINGFACE_"))}
    return {**environment, "HF_HOME": str(home), "HF_HUB_OFFLINE": "1", "HF_TOKEN": ""}


def run(command: list[str], environment: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)


def cache_as_downloaded(home: Path, repo_id: str, folder: Path) -> None:
    """The Hugging Face cache as a download of ``repo_id`` holding ``folder``'s agent leaves it."""
    repository = home / "hub" / f"models--{repo_id.replace('/', '--')}"
    (repository / "snapshots" / COMMIT).mkdir(parents=True)
    for name in (MODEL_FILE, CONFIG_FILE):
        shutil.copyfile(folder / name, repository / "snapshots" / COMMIT / name)
    (repository / "refs").mkdir()
    (repository / "refs" / "main").write_text(COMMIT)


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


def test_an_export_gives_the_q_values_of_its_snapshot(exported):
    snapshot, reloaded = load_snapshot(AGENT), load_snapshot(exported)
    assert reloaded.weights_only and reloaded.game == "breakout" and reloaded.actions == snapshot.actions
    assert reloaded.epoch == snapshot.epoch and reloaded.options == snapshot.options
    states = np.random.default_rng(0).integers(0, 256, (16, 4, 84, 84), dtype=np.uint8)
    q_values = []
    for loaded in (snapshot, reloaded):
        network = DeepQNetwork(len(loaded.actions), NetworkSettings.from_values(loaded.options), (4, 84, 84),
                               use_target_network=False, device=torch.device("cpu"))
        network.load_state_dict(loaded.contents["network"], with_training_state=False)
        q_values.append(network.predict(states))
    assert np.array_equal(q_values[0], q_values[1])
    assert np.ptp(q_values[0], axis=0).max() > 0  # the states tell apart: the values are not a constant


def test_an_export_keeps_the_weights_alone_and_no_folder_of_the_training_machine(exported):
    tensors = load((exported / MODEL_FILE).read_bytes())
    assert tensors.keys() == load_snapshot(AGENT).contents["network"]["online"].keys()
    config = json.loads((exported / CONFIG_FILE).read_text())
    assert config["game"] == "breakout" and config["actions"] == ["NOOP", "FIRE", "RIGHT", "LEFT"]
    assert config["toolkit_version"] == __version__ and config["options"]["environment"] == "ale"
    assert not set(config["options"]) & file_options()
    assert sorted(path.name for path in exported.iterdir()) == sorted([MODEL_FILE, CONFIG_FILE, "README.md"])


@pytest.mark.slow
def test_test_sh_scores_a_snapshot_its_export_and_its_hf_name_alike(exported, tmp_path):
    cache_as_downloaded(tmp_path, "someone/breakout", exported)
    scores = []
    for snapshot in (str(AGENT), str(exported), "hf://someone/breakout"):
        result = run([str(ROOT / "test.sh"), snapshot, "--test_steps", "300", "--max_test_frames", "400",
                      "--random_seed", "5", "--progress", "false", "--backend", "cpu"], offline_hub(tmp_path))
        assert result.returncode == 0, result.stderr
        scores.append(result.stdout)
    assert scores[0].startswith("tested") and "games" in scores[0]
    assert scores[1] == scores[0] and scores[2] == scores[0]


def test_export_sh_exports_an_agent_of_the_hub_under_its_repository_name(exported, tmp_path):
    cache_as_downloaded(tmp_path, "someone/breakout", exported)
    output = tmp_path / "again" / "{snapshot}"
    result = run([str(ROOT / "export.sh"), "hf://someone/breakout", "--output", str(output), "--video_frames", "0"],
                 offline_hub(tmp_path))
    assert result.returncode == 0, result.stderr
    again = tmp_path / "again" / "breakout"
    assert load((again / MODEL_FILE).read_bytes()).keys() == load((exported / MODEL_FILE).read_bytes()).keys()
    assert json.loads((again / CONFIG_FILE).read_text())["game"] == "breakout"


def test_export_sh_help_lists_its_own_options():
    result = run([str(ROOT / "export.sh"), "--help"])
    assert result.returncode == 0 and result.stdout.startswith("usage: ./export.sh SNAPSHOT")
    assert "--evaluate" in result.stdout and "--video_frames N" in result.stdout
    assert "--learning_rate" not in result.stdout  # its own options, not those of a training run


def test_an_hf_name_missing_from_the_cache_offline_is_one_line(tmp_path):
    result = run([str(ROOT / "test.sh"), "hf://someone/nothing"], offline_hub(tmp_path))
    assert_clear_error(result, "hf://someone/nothing", "not in the Hugging Face cache", "HF_HUB_OFFLINE")


@pytest.mark.slow
def test_a_new_run_starts_from_the_weights_of_an_agent_on_the_hub(exported, tmp_path):
    cache_as_downloaded(tmp_path, "someone/breakout", exported)
    # float32: on a CPU without native bfloat16 the agent's bfloat16 update is emulated, some ten times slower
    result = run([*MAIN, "breakout", "--load_weights", "hf://someone/breakout", *TINY_RUN, "--epochs", "1",
                  *PAPER_SCREENS, "--update_precision", "float32",
                  "--save_weights_prefix", str(tmp_path / "run"), "--csv_file", str(tmp_path / "run.csv")],
                 offline_hub(tmp_path))
    assert result.returncode == 0, result.stderr
    assert not load_snapshot(tmp_path / "run_1.pkl").weights_only  # a run's own snapshot, to resume
    assert "hf://someone/breakout" in yaml.safe_load((tmp_path / "run.yaml").read_text())["command"]


@pytest.mark.slow
def test_resume_sh_refuses_an_agent_on_the_hub_in_one_line(exported, tmp_path):
    cache_as_downloaded(tmp_path, "someone/breakout", exported)
    assert_clear_error(run([str(ROOT / "resume.sh"), "hf://someone/breakout"], offline_hub(tmp_path)),
                       "weights only")


@pytest.mark.slow
def test_export_sh_evaluates_records_and_writes_a_model_card_of_the_evaluation(tmp_path):
    output = tmp_path / "breakout"
    result = run([str(ROOT / "export.sh"), str(AGENT), "--output", str(output), "--repo_id", "someone/breakout",
                  "--video_frames", "240", "--evaluate", "--episodes", "2", "--max_test_frames", "400",
                  "--random_seed", "3", "--progress", "false", "--backend", "cpu"])
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in output.iterdir()) == sorted(EXPORT_FILES)
    summary = json.loads((output / "summary.json").read_text())
    assert summary["protocol"] == "nature" and summary["episodes"] == 2 and summary["random_seed"] == 3
    assert len((output / "episodes.csv").read_text().splitlines()) == 3
    card = (output / "README.md").read_text()
    metrics = front_matter(card)["model-index"][0]["results"][0]["metrics"]
    assert metrics[0]["value"] == f"{summary['mean']:.2f} +/- {summary['std']:.2f}"
    assert metrics[1]["value"] == round(summary["human_normalised_percent"], 1)
    assert "./play.sh hf://someone/breakout" in card
    with av.open(str(output / "replay.mp4")) as video:
        frames = sum(1 for _ in video.decode(video=0))
    assert 0 < frames <= 240 + 4  # the game ends at the step that reaches the limit: up to 3 frames more


def test_the_model_card_holds_the_figures_of_the_evaluation_it_is_given(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    summary = write_evaluation(results, [12.0, 30.0, 21.0], [900, 2000, 1500], game="breakout",
                               environment="ale breakout", protocol="nature", overrides={"play_games": 3},
                               settings={"exploration_rate": 0.05}, snapshot=str(AGENT), seed=4,
                               games_planned=3)
    output = tmp_path / "export"
    files = export(str(AGENT), output, evaluation=results, video_frames=0)
    assert files == sorted([MODEL_FILE, CONFIG_FILE, "README.md", "summary.json", "episodes.csv"])
    assert (output / "summary.json").read_bytes() == (results / "summary.json").read_bytes()
    card = ModelCard.load(output / "README.md")
    assert card.data.library_name == "simple_dqn"
    assert {"reinforcement-learning", "deep-q-learning", "atari", "breakout"} <= set(card.data.tags)
    mean_reward, normalised = card.data.eval_results
    assert mean_reward.task_type == "reinforcement-learning" and mean_reward.dataset_type == "BreakoutNoFrameskip-v4"
    assert mean_reward.metric_type == "mean_reward" and mean_reward.metric_value == "21.00 +/- 7.35"
    assert mean_reward.metric_args == {"protocol": "nature", "episodes": 3}
    assert normalised.metric_type == "human_normalised_score"
    assert normalised.metric_value == round(summary["human_normalised_percent"], 1) == 64.1
    assert "| nature | 3 | 21.0 ± 7.3 | 12 | 30 | 64% | 401.2 |" in card.text
    assert "./play.sh hf://USER/NAME" in card.text


def test_an_export_refuses_an_evaluation_of_another_game_and_a_folder_of_other_files(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    write_evaluation(results, [1.0], [100], game="pong", environment="ale pong", protocol="nature", overrides={},
                     settings={}, snapshot=None, seed=0, games_planned=1)
    with pytest.raises(UsageError, match="is of pong, not of breakout"):
        export(str(AGENT), tmp_path / "export", evaluation=results, video_frames=0)
    with pytest.raises(UsageError, match="holds files that are not an export"):
        export(str(AGENT), results, video_frames=0)
    assert sorted(path.name for path in results.iterdir()) == ["episodes.csv", "summary.json"]
    assert not list(tmp_path.glob(".*"))  # no folder left half built


def test_an_export_replaces_an_earlier_export_whole(exported, tmp_path):
    output = tmp_path / "breakout"
    shutil.copytree(exported, output)
    (output / "replay.mp4").write_bytes(b"an earlier replay")
    export(str(AGENT), output, video_frames=0)
    assert sorted(path.name for path in output.iterdir()) == sorted([MODEL_FILE, CONFIG_FILE, "README.md"])


def craft(folder: Path, how: str) -> None:
    """Spoil an exported agent's folder in one way."""
    model, config_path = folder / MODEL_FILE, folder / CONFIG_FILE
    config = json.loads(config_path.read_text())
    tensors = load(model.read_bytes())  # not mapped: the file is rewritten below
    if how == "pickle":
        torch.save(tensors, model)
    elif how == "truncated":
        model.write_bytes(model.read_bytes()[:-1000])
    elif how == "missing tensor":
        del tensors["head.2.bias"]
        save_file(tensors, model)
    elif how == "wrong shape":
        tensors["head.2.weight"] = torch.zeros(5, 512)
        save_file(tensors, model)
    elif how == "extra tensor":
        save_file({**tensors, "head.4.weight": torch.zeros(2)}, model)
    elif how == "integer tensor":
        save_file({**tensors, "head.2.bias": torch.zeros(4, dtype=torch.int64)}, model)
    elif how == "no actions":
        del config["actions"]
    elif how == "no history_length":
        del config["options"]["history_length"]
    elif how == "screen too small":
        config["options"]["screen_width"] = 10
    elif how == "not an optimizer":
        config["options"]["optimizer"] = "sgd"
    elif how == "not json":
        config_path.write_text("{not json")
    if how in ("no actions", "no history_length", "screen too small", "not an optimizer"):
        config_path.write_text(json.dumps(config))


CRAFTS = {
    "pickle": "is not a safetensors file",
    "truncated": "is not a safetensors file",
    "missing tensor": "lacks the tensor head.2.bias",
    "wrong shape": "tensor head.2.weight has shape 5x512, but the network config.json describes (4 actions",
    "extra tensor": "holds the tensor head.4.weight",
    "integer tensor": "holds torch.int64",
    "no actions": "lacks 'actions'",
    "no history_length": "lacks the option history_length",
    "screen too small": "option screen_width is 10",
    "not an optimizer": 'option optimizer is "sgd"',
    "not json": "cannot be read as JSON",
}


@pytest.mark.parametrize("how", CRAFTS)
def test_a_crafted_export_is_refused_saying_why(exported, tmp_path, how):
    folder = tmp_path / "crafted"
    shutil.copytree(exported, folder)
    craft(folder, how)
    with pytest.raises(UsageError) as refused:
        load_snapshot(folder)
    assert CRAFTS[how] in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.slow
def test_test_sh_refuses_a_crafted_export_in_one_line(exported, tmp_path):
    folder = tmp_path / "crafted"
    shutil.copytree(exported, folder)
    craft(folder, "wrong shape")
    assert_clear_error(run([str(ROOT / "test.sh"), str(folder)]), "shape 5x512", "needs 4x512")


@pytest.mark.slow
def test_upload_dry_run_lists_exactly_the_files_it_would_send_and_sends_nothing(exported, tmp_path):
    folder = tmp_path / "breakout"
    shutil.copytree(exported, folder)
    (folder / "notes").mkdir()
    (folder / "notes" / "training.txt").write_text("trained on 2 cores")
    (folder / ".cache").mkdir()
    (folder / ".cache" / "left.lock").write_text("")
    card = (folder / "README.md").read_bytes()
    result = run([str(ROOT / "upload.sh"), str(folder), "--repo_id", "someone/breakout", "--dry_run"],
                 offline_hub(tmp_path / "hf"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("dry run, nothing sent: would send 4 files") and "to someone/breakout" in lines[0]
    listed = [line.split(" (")[0].strip() for line in lines[1:] if line.startswith("  ")]
    assert listed == ["README.md", "config.json", "model.safetensors", "notes/training.txt"]
    assert lines[-1] == "README.md would name hf://someone/breakout in place of hf://USER/NAME"
    assert (folder / "README.md").read_bytes() == card


@pytest.mark.slow
@pytest.mark.parametrize("online", [False, True], ids=["offline", "no token"])
def test_upload_without_the_hub_or_a_token_is_one_line(exported, tmp_path, online):
    environment = offline_hub(tmp_path)
    if online:
        del environment["HF_HUB_OFFLINE"]
    result = run([str(ROOT / "upload.sh"), str(exported), "--repo_id", "someone/breakout"], environment)
    assert_clear_error(result, "no Hugging Face token" if online else "HF_HUB_OFFLINE is set")


@pytest.mark.slow
def test_upload_refuses_a_folder_that_is_not_an_export_and_a_bad_repo_id(tmp_path, exported):
    assert_clear_error(run([str(ROOT / "upload.sh"), str(tmp_path), "--repo_id", "someone/breakout", "--dry_run"]),
                       "has no config.json")
    assert_clear_error(run([str(ROOT / "upload.sh"), str(exported), "--repo_id", "breakout", "--dry_run"]),
                       "USER/NAME")


@pytest.mark.slow
def test_upload_gym_sh_exports_a_test_gym_evaluation_with_its_snapshot(tmp_path):
    results = tmp_path / "results"
    evaluated = run([str(ROOT / "test_gym.sh"), str(AGENT), "Breakout-v0", "--environment", "gym", "--episodes", "1",
                     "--max_test_frames", "400", "--results_folder", str(results), "--progress", "false",
                     "--backend", "cpu"])
    assert evaluated.returncode == 0, evaluated.stderr
    output = tmp_path / "export"
    result = run([str(ROOT / "upload_gym.sh"), str(results), "--repo_id", "someone/breakout-v0", "--output",
                  str(output), "--video_frames", "60", "--dry_run"], offline_hub(tmp_path / "hf"))
    assert result.returncode == 0, result.stderr
    listed = [line.split(" (")[0].strip() for line in result.stdout.splitlines() if line.startswith("  ")]
    assert listed == sorted(EXPORT_FILES) == sorted(path.name for path in output.iterdir())
    card = ModelCard.load(output / "README.md")
    assert card.data.eval_results[0].dataset_type == "Breakout-v0"
    assert card.data.eval_results[0].metric_args["protocol"] == "gym"
    assert "./play.sh hf://someone/breakout-v0" in card.text
