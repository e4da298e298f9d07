"""Live curves: TensorBoard events that say what the CSV says, each step once after a resume, and W&B offline."""

import math
import os
import signal
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from torch.utils.tensorboard import SummaryWriter

from conftest import MAIN, ROOT, TINY_RUN, assert_clear_error, run_command, run_main, run_script
from simple_dqn.errors import UsageError
from simple_dqn.runs import tracking
from simple_dqn.runs.live_curves import (
    HEADLINE_METRIC,
    LOSS_UPDATES,
    PHASE_FIGURES,
    LiveCurves,
    trim_events,
)
from simple_dqn.runs.results_csv import CSV_COLUMNS, append_csv_row, read_csv_rows
from simple_dqn.runs.run_files import live_curves_folder

SEED = ["--random_seed", "7"]
ONE_SHORT_EPOCH = [*TINY_RUN, "--epochs", "1", "--train_steps", "200", "--test_steps", "100"]


def outputs(folder: Path) -> list[str]:
    return ["--save_weights_prefix", str(folder / "breakout"), "--csv_file", str(folder / "breakout.csv")]


def events_of(folder: Path) -> EventAccumulator:
    """Every event in the run's TensorBoard folder, as TensorBoard reads them (no sampling)."""
    accumulator = EventAccumulator(str(folder / "tensorboard" / "breakout"), size_guidance={"scalars": 0})
    accumulator.Reload()
    return accumulator


def points(events: EventAccumulator, tag: str) -> list[tuple[int, float]]:
    return [(event.step, event.value) for event in events.Scalars(tag)]


def phase_ranges(rows: list[dict]) -> list[tuple[dict, int, int]]:
    """Each CSV row with the run's agent steps before its phase and at its end."""
    ranges, done = [], 0
    for row in rows:
        ranges.append((row, done, done + int(row["steps"])))
        done += int(row["steps"])
    return ranges


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two tiny epochs of breakout with a fixed seed: a random phase, updates, games in every phase."""
    folder = tmp_path_factory.mktemp("curves")
    result = run_main("breakout", *TINY_RUN, "--epochs", "2", *SEED, *outputs(folder))
    assert result.returncode == 0, result.stderr
    return folder


@pytest.mark.slow
def test_each_phase_s_figures_are_its_csv_row_at_its_last_agent_step(trained):
    events, rows = events_of(trained), read_csv_rows(trained / "breakout.csv")
    assert [row["phase"] for row in rows] == ["random", "train", "test", "train", "test"]
    for phase in ("random", "train", "test"):
        for figure in PHASE_FIGURES:
            expected = [(end, float(row[figure])) for row, _, end in phase_ranges(rows)
                        if row["phase"] == phase and row[figure] != "nan"]
            tag = f"{phase}/{figure}"
            got = points(events, tag) if tag in events.Tags()["scalars"] else []
            assert [step for step, _ in got] == [step for step, _ in expected], tag
            for (_, value), (_, csv_value) in zip(got, expected, strict=True):
                assert math.isclose(value, csv_value, rel_tol=1e-5), (tag, value, csv_value)
    assert "test/meancost" not in events.Tags()["scalars"]  # no update in a test phase: no figure, not a nan


@pytest.mark.slow
def test_each_game_is_a_point_where_it_ended_and_the_games_make_the_row(trained):
    events, rows = events_of(trained), read_csv_rows(trained / "breakout.csv")
    for row, start, end in phase_ranges(rows):
        phase = row["phase"]
        tag = f"{phase}/game_reward"
        scores = [value for step, value in points(events, tag) if start < step <= end] \
            if tag in events.Tags()["scalars"] else []
        lengths = [value for step, value in points(events, f"{phase}/game_frames") if start < step <= end] \
            if scores else []
        assert len(scores) == len(lengths) == int(row["nr_games"]), (phase, row["epoch"])
        if scores:
            assert math.isclose(sum(scores) / len(scores), float(row["average_reward"]), rel_tol=1e-5)
            assert (min(scores), max(scores)) == (float(row["min_game_reward"]), float(row["max_game_reward"]))
            assert all(length > 0 for length in lengths)
    assert int(rows[0]["nr_games"]) + int(rows[1]["nr_games"]) > 0, "no game ended: the test shows nothing"


@pytest.mark.slow
def test_the_loss_is_the_mean_of_each_hundred_updates_of_a_training_phase(trained):
    events, rows = events_of(trained), read_csv_rows(trained / "breakout.csv")
    losses = points(events, "train/loss")
    updates_before = 0
    for row, start, end in phase_ranges(rows):
        updates = int(row["weight_updates"]) - updates_before
        updates_before = int(row["weight_updates"])
        in_phase = [value for step, value in losses if start < step <= end]
        assert len(in_phase) == updates // LOSS_UPDATES, (row["phase"], row["epoch"], updates)
        if updates == LOSS_UPDATES:  # one point: the very mean the row gives
            assert math.isclose(in_phase[0], float(row["meancost"]), rel_tol=1e-4)
    assert losses and all(value > 0 for _, value in losses)


@pytest.mark.slow
def test_the_run_s_options_are_its_hyperparameters(trained):
    content = events_of(trained).PluginTagToContent("hparams")
    session = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hyperparameters = session.session_start_info.hparams
    assert hyperparameters["game"].string_value == "breakout"
    assert hyperparameters["random_seed"].number_value == 7
    assert hyperparameters["replay_size"].number_value == 2000
    assert hyperparameters["double_q"].string_value == "false"
    assert hyperparameters["tensorboard"].string_value == "true"
    assert "load_weights" not in hyperparameters  # not set
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert [metric.name.tag for metric in experiment.metric_infos] == [HEADLINE_METRIC]


@pytest.mark.slow
def test_a_run_killed_and_resumed_has_each_step_once_with_the_values_of_one_never_killed(trained, tmp_path):
    process = subprocess.Popen([*MAIN, "breakout", *TINY_RUN, "--epochs", "2", *SEED, *outputs(tmp_path)], cwd=ROOT,
                               stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:
        if "epoch 2 train:" in line:  # its row and events are on disk; the next snapshot is epoch 2's, after its test
            break
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert not (tmp_path / "breakout_2.pkl").exists(), "killed too late to leave events past the snapshot"
    rows_before = read_csv_rows(tmp_path / "breakout.csv")
    killed = events_of(tmp_path)
    assert max(step for step, _ in points(killed, "train/average_reward")) == sum(int(row["steps"])
                                                                                 for row in rows_before)

    resumed = run_script("resume.sh", str(tmp_path / "breakout"), "--epochs", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert "dropped" in resumed.stderr and "TensorBoard events" in resumed.stderr
    events, uninterrupted = events_of(tmp_path), events_of(trained)
    assert sorted(events.Tags()["scalars"]) == sorted(uninterrupted.Tags()["scalars"])
    for tag in events.Tags()["scalars"]:
        steps = [step for step, _ in points(events, tag)]
        assert steps == sorted(set(steps)), f"{tag}: a step twice or out of order"
        if not tag.endswith("steps_per_second"):  # wall-clock: the only figure that differs between the two
            assert points(events, tag) == points(uninterrupted, tag), tag


@pytest.mark.slow
def test_a_run_with_tensorboard_false_writes_no_events(tmp_path):
    result = run_main("breakout", *ONE_SHORT_EPOCH, *outputs(tmp_path), "--tensorboard", "false")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "breakout.csv").exists() and not (tmp_path / "tensorboard").exists()


def test_track_without_tensorboard_is_refused_in_one_line(tmp_path):
    assert_clear_error(run_main("breakout", *ONE_SHORT_EPOCH, *outputs(tmp_path), "--tensorboard", "false",
                                "--track", "true"), "--track", "--tensorboard true")
    assert not (tmp_path / "breakout.csv").exists()


def test_trimming_keeps_the_events_before_the_step_and_removes_a_file_left_with_none(tmp_path):
    with SummaryWriter(str(tmp_path), filename_suffix=".first") as writer:
        for step in range(1, 11):
            writer.add_scalar("train/loss", step / 10, step)
    with SummaryWriter(str(tmp_path), filename_suffix=".later") as writer:
        writer.add_scalar("train/loss", 2.0, 12)
    assert trim_events(tmp_path, 6) == 6
    assert [path.name.rsplit(".", 1)[-1] for path in tmp_path.iterdir()] == ["first"]
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    assert [event.step for event in events.Scalars("train/loss")] == [1, 2, 3, 4, 5]
    assert trim_events(tmp_path, 6) == 0


def test_a_resumed_run_s_curves_go_on_from_its_csv_s_steps_and_the_part_of_the_phase_it_stopped_in(tmp_path):
    csv_path = tmp_path / "breakout.csv"
    for epoch, phase, steps in [(0, "random", 200), (1, "train", 400)]:
        append_csv_row(csv_path, dict.fromkeys(CSV_COLUMNS, 0) | {"epoch": epoch, "phase": phase, "steps": steps})
    folder = live_curves_folder(csv_path)
    with SummaryWriter(str(folder)) as writer:  # the test phase had 50 steps when it stopped; a later run went on
        for step in (500, 650, 700):
            writer.add_scalar("test/game_reward", 1.0, step)
    unfinished = folder / ".events.out.tfevents.1.host.1.0.0123abcd.tmp"  # a trimmed file that a kill cut short
    unfinished.write_bytes(b"\0")
    curves = LiveCurves(csv_path, {"game": "breakout"}, resumed=True)
    curves.start_phase("test", 50)
    curves.game_over(60, 2.0, 800)
    curves.close()
    assert not unfinished.exists()
    assert points(events_of(tmp_path), "test/game_reward") == [(500, 1.0), (650, 1.0), (660, 2.0)]


class ConnectionTrap:
    """A local port that counts who connects: set as every proxy and as W&B's server, it sees any attempt to
    reach the network."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.server.close()


@pytest.mark.slow
def test_track_with_wandb_offline_writes_a_local_run_and_touches_no_network(tmp_path):
    tracking.installed_wandb()  # installed first, from its index, when it is not yet: the run itself must reach nothing
    trap = ConnectionTrap()
    home = tmp_path / "home"
    environment = {name: value for name, value in os.environ.items()
                   if not name.lower().endswith("_proxy") and not name.startswith("WANDB_")}
    environment |= {"WANDB_MODE": "offline", "WANDB_BASE_URL": trap.url, "WANDB_CONFIG_DIR": str(home / "config"),
                    "WANDB_CACHE_DIR": str(home / "cache"), "WANDB_DATA_DIR": str(home / "data"), "HOME": str(home),
                    **{name: trap.url for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy",
                                                   "https_proxy", "all_proxy")}}
    try:
        result = subprocess.run([*MAIN, "breakout", *ONE_SHORT_EPOCH, *outputs(tmp_path), "--track", "true",
                                 "--wandb_project", "curves_test"],
                                cwd=ROOT, capture_output=True, text=True, timeout=300, env=environment)
    finally:
        trap.close()
    assert result.returncode == 0, result.stderr
    assert trap.connections == 0
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, list(tmp_path.iterdir())
    log = next(runs[0].glob("run-*.wandb")).read_bytes()
    assert b"breakout/train" not in log  # the tags as TensorBoard names them
    for text in (b"train/meanq", b"test/meanq", b"learning_rate", b"curves_test"):
        assert text in log, text  # tags of the first phase and of the last, the options as its config, the project
    copied = list((runs[0] / "files").rglob("events.out.tfevents.*"))
    assert [path.name for path in copied] == [path.name for path in (tmp_path / "tensorboard" / "breakout").iterdir()]


def test_a_failed_install_of_wandb_is_one_line_that_says_why(tmp_path, monkeypatch):
    requirements = tmp_path / "requirements-track.txt"
    requirements.write_text("--no-index\nwandb==0.0.1\n")  # a version no index has, looked for in none
    monkeypatch.setattr(tracking, "TRACK_REQUIREMENTS", requirements)
    with pytest.raises(UsageError) as refused:
        tracking.installed_wandb()
    message = str(refused.value)
    assert "\n" not in message and message.startswith("installing requirements-track.txt into ")
    assert "wandb==0.0.1" in message, message


def test_the_tensorboard_folder_comes_from_the_csv_path():
    assert live_curves_folder(Path("results/breakout.csv")) == Path("results/tensorboard/breakout")
    sweep_run = Path("results/sweep-1/pong_s2")
    assert live_curves_folder(sweep_run / "pong.csv") == sweep_run / "tensorboard" / "pong"


def test_requirements_track_pins_wandb_and_nothing_else_needs_it():
    lines = [line for line in (ROOT / "requirements-track.txt").read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines == ["wandb==0.31.0"]
    assert "wandb" not in (ROOT / "requirements.txt").read_text()
    result = run_command([*MAIN[:1], "-c", "import sys, simple_dqn.main; print('wandb' in sys.modules)"])
    assert result.stdout.strip() == "False", result.stderr
