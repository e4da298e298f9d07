"""Never lose a run: exact resume with replay memory, saves on Ctrl-C, crashes at any moment, failed writes."""

import logging
import random
import re
import resource
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import MAIN, QUICK_SCREENS, ROOT, assert_clear_error, made_once, resume_run, run_main, run_script
from simple_dqn.command_line import parse_options
from simple_dqn.dqn.environments import make_games
from simple_dqn.dqn.games import Step
from simple_dqn.dqn.replay_memory import ReplayMemory
from simple_dqn.errors import UsageError
from simple_dqn.runs.checkpoint import load_snapshot
from simple_dqn.runs.composition import Seeds, build_parts
from simple_dqn.runs.phases import PhaseRunner
from simple_dqn.runs.replay_file import load_replay
from simple_dqn.runs.results_csv import TIME_COLUMNS, read_csv_rows
from simple_dqn.runs.run_files import RunFiles
from simple_dqn.runs.statistics import Statistics
from simple_dqn.stopping import StopRequest

# Epochs of a few hundred steps on small screens, a fixed seed: on the CPU every run of these settings is the same
# run.  Its test phases are long enough (a quarter of a second or more) for a test to stop a run in one.
SMALL_EPOCHS = ["--random_steps", "200", "--train_steps", "300", "--test_steps", "300", "--replay_size", "2000",
                "--validation_size", "64", "--target_steps", "100", "--exploration_decay_steps", "1000",
                "--max_test_frames", "800", "--progress", "false", "--backend", "cpu", "--random_seed", "5",
                *QUICK_SCREENS]
EPOCHS = 3  # a run's length unless a test's options say otherwise: enough to stop, resume and go on past a save


def train_arguments(folder, epochs: int, *options: str, games: int = 1) -> list[str]:
    """``games``: how many games the run plays at once (--num_envs); ``options`` come last, and win."""
    return ["breakout", *SMALL_EPOCHS, "--epochs", str(epochs), "--num_envs", str(games),
            "--save_weights_prefix", str(folder / "breakout"), "--csv_file", str(folder / "breakout.csv"), *options]


def train_command(folder, epochs: int, *options: str, games: int = 1) -> list[str]:
    """The command of such a run, for a test that stops it with a signal or kills it."""
    return [*MAIN, *train_arguments(folder, epochs, *options, games=games)]


def assert_stops_with_clear_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit code 2 and, after the log of what ran, one last line that names the problem; never a traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    for fragment in fragments:
        assert fragment in last, last


def rows_apart_from_timing(folder) -> list[dict]:
    return [{column: value for column, value in row.items() if column not in TIME_COLUMNS}
            for row in read_csv_rows(folder / "breakout.csv")]


@pytest.fixture(scope="session")
def uninterrupted_runs(tmp_path_factory, worker_id):
    """The rows of EPOCHS epochs run in one go, by the number of games played at once and any options of the run's
    own; each run once in the test session, when first asked."""
    def rows_of(games: int, options: tuple[str, ...]) -> list[dict]:
        def run(folder):
            result = run_main(*train_arguments(folder, EPOCHS, *options, games=games))
            assert result.returncode == 0, result.stderr
            return rows_apart_from_timing(folder)
        return made_once(tmp_path_factory, worker_id, "_".join(["uninterrupted", str(games), *options]), run)
    return rows_of


@pytest.fixture
def games() -> int:
    """One game at a time, unless a test is parametrized with more."""
    return 1


@pytest.fixture
def options() -> tuple[str, ...]:
    """None of the run's own, unless a test is parametrized with some."""
    return ()


@pytest.fixture
def uninterrupted(uninterrupted_runs, games, options):
    return uninterrupted_runs(games, options)


@pytest.mark.slow
def test_a_run_resumed_after_epoch_2_gives_the_rows_of_one_never_interrupted(uninterrupted, tmp_path):
    """With compressed screens; the stopped and killed runs below resume uncompressed ones (the default)."""
    first = run_main(*train_arguments(tmp_path, 2, "--replay_compress", "true"))
    assert first.returncode == 0, first.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["breakout.csv", "breakout.replay", "breakout.yaml",
                                                                 "breakout_1.pkl", "breakout_2.pkl",
                                                                 "tensorboard"]  # one replay
    resumed = resume_run(str(tmp_path / "breakout_2.pkl"), "--epochs", str(EPOCHS))
    assert resumed.returncode == 0, resumed.stderr
    assert "loaded " + str(tmp_path / "breakout.replay") in resumed.stderr
    assert rows_apart_from_timing(tmp_path) == uninterrupted


# A scheduler, or the death of a parent with several threads, may send SIGTERM more than once: the save goes on.
@pytest.mark.slow
@pytest.mark.parametrize("stops, games", [([signal.SIGINT], 1), ([signal.SIGTERM], 1),
                                          ([signal.SIGTERM, signal.SIGTERM], 1), ([signal.SIGINT], 2)])
def test_ctrl_c_or_sigterm_saves_where_the_run_stopped_and_resuming_completes_every_phase_once(uninterrupted, tmp_path,
                                                                                              stops, games):
    process = subprocess.Popen(train_command(tmp_path, 50, games=games), cwd=ROOT, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        if "epoch 2 train:" in line:  # the row of epoch 2's train phase is written: stop in its test phase
            break
    for stop in stops:
        process.send_signal(stop)
    rest = process.stderr.read()
    assert process.wait(timeout=60) == 0, rest
    assert "Traceback" not in rest
    last = rest.strip().splitlines()[-1]
    stopped = re.fullmatch(r"stopped during epoch 2 (train|test) and saved where it stopped; continue with "
                           r"./resume.sh (.*breakout_2\.pkl)", last)
    assert stopped, last
    # In the test phase, or between the two phases: then the test phase is where the resumed run begins.
    assert torch.load(stopped[2], weights_only=True)["stopped"]["phase"] == "test"
    snapshot = stopped[2]

    resumed = resume_run(snapshot, "--epochs", str(EPOCHS))
    assert resumed.returncode == 0, resumed.stderr
    rows = read_csv_rows(tmp_path / "breakout.csv")
    assert [(row["epoch"], row["phase"]) for row in rows] == [
        ("0", "random"), ("1", "train"), ("1", "test"), ("2", "train"), ("2", "test"), ("3", "train"), ("3", "test")]
    assert all(row["steps"] == {"random": "200", "train": "300", "test": "300"}[row["phase"]] for row in rows)
    assert rows_apart_from_timing(tmp_path) == uninterrupted  # the game in progress went on as if never stopped


# An epoch whose training phase is 1,200 agent steps, a second or more: a stop half a second into it lands in it,
# before any snapshot was saved.
@pytest.mark.slow
@pytest.mark.parametrize("options", [("--train_steps", "1200", "--epochs", "1")])
@pytest.mark.parametrize("games", [1, 2])
def test_a_run_stopped_in_the_middle_of_a_training_game_goes_on_with_that_game_exactly(uninterrupted, tmp_path, games,
                                                                                      options):
    process = subprocess.Popen(train_command(tmp_path, 50, *options, games=games), cwd=ROOT, stderr=subprocess.PIPE,
                               text=True)
    for line in process.stderr:
        if "random: 200 steps" in line:  # epoch 1's training begins
            break
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    rest = process.stderr.read()
    assert process.wait(timeout=60) == 0, rest
    interrupted = torch.load(tmp_path / "breakout_1.pkl", weights_only=True)["stopped"]
    assert interrupted["phase"] == "train" and 0 < interrupted["steps_done"] < 1200, interrupted
    shape = (games, 4, 36, 36)
    assert interrupted["episode"]["screens"].shape == shape and interrupted["episode"]["screens"].any()
    resumed = run_script("resume.sh", str(tmp_path / "breakout"), "--epochs", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert rows_apart_from_timing(tmp_path) == uninterrupted


@pytest.mark.slow
@pytest.mark.parametrize("games, kills_wanted", [(1, 4), (2, 3)])
def test_killed_at_random_moments_the_run_resumes_to_the_rows_of_one_never_interrupted(uninterrupted, tmp_path, games,
                                                                                       kills_wanted):
    """Each kill lands a random moment after the run has started up (its line naming the game's actions), in its
    steps or its saves: a kill in the seconds of loading PyTorch would test nothing."""
    moments = random.Random(20)
    kills = completed = 0
    while kills < kills_wanted or not completed:
        if not (tmp_path / f"breakout_{EPOCHS}.pkl").exists():  # else killed after its last save: it is complete
            started = list(tmp_path.glob("breakout_*.pkl"))
            command = ([str(ROOT / "resume.sh"), str(tmp_path / "breakout"), "--epochs", str(EPOCHS)] if started
                       else train_command(tmp_path, EPOCHS, games=games))
            process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            stuck = threading.Timer(300, process.kill)  # a run that never starts up, or never ends, fails the test
            stuck.start()
            log: list[str] = []  # its stderr
            if kills < kills_wanted:
                for line in process.stderr:
                    log.append(line)
                    if " actions (" in line:  # started up
                        break
                time.sleep(moments.uniform(0.0, 3.0))
                if process.poll() is None:
                    stuck.cancel()
                    process.kill()  # SIGKILL: no handler runs, whatever was being written stays as it was
                    process.communicate()
                    kills += 1
                    continue
            log.append(process.stderr.read())
            stuck.cancel()
            assert process.wait() == 0, "".join(log)
        assert rows_apart_from_timing(tmp_path) == uninterrupted
        assert not list(tmp_path.glob(".*.tmp"))  # what killed writes left was cleared away by the next run
        completed += 1
        shutil.rmtree(tmp_path)  # and once more from the start, until the kills wanted have landed
        tmp_path.mkdir()


@pytest.mark.slow
def test_resume_refuses_a_replay_memory_that_is_missing_or_not_the_snapshots_unless_allowed(tmp_path):
    first = run_main(*train_arguments(tmp_path, 2))
    assert first.returncode == 0, first.stderr
    (tmp_path / "breakout.replay").rename(tmp_path / "elsewhere.replay")
    assert_stops_with_clear_error(resume_run(str(tmp_path / "breakout_2.pkl"), "--epochs", "3"),
                                  "does not exist", "--allow_empty_replay")

    # What tells a snapshot's replay memory is the id both were saved with, not the epoch: another run's memory of
    # the same epoch is refused as well.
    (tmp_path / "elsewhere.replay").rename(tmp_path / "breakout.replay")
    with pytest.raises(UsageError, match="another snapshot"):
        load_replay(tmp_path / "breakout.replay", ReplayMemory(2000, (36, 36)), secrets.token_hex(8), 2)

    # Epoch 1's snapshot beside epoch 2's replay memory, as after a copy of the wrong files.
    (tmp_path / "breakout_2.pkl").unlink()
    snapshot = str(tmp_path / "breakout_1.pkl")
    assert_stops_with_clear_error(resume_run(snapshot, "--epochs", "2"),
                                  "another snapshot", "--allow_empty_replay")

    allowed = resume_run(snapshot, "--epochs", "2", "--allow_empty_replay", "true")
    assert allowed.returncode == 0, allowed.stderr
    assert "going on with an empty replay memory" in allowed.stderr


def files_limited_to(kilobytes: int):
    """A disk that fills up: files cannot grow past ``kilobytes``, and writing past that fails instead of killing."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (kilobytes << 10, kilobytes << 10))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    return limit


# With 500 transitions the replay memory takes 0.65 MB, a snapshot 1.85 MB: 256 kB stops the first, 1 MB the second.
@pytest.mark.slow
@pytest.mark.parametrize("options", [("--replay_size", "500", "--epochs", "2")])
@pytest.mark.parametrize("kilobytes", [256, 1024])
def test_a_save_that_cannot_be_written_stops_the_run_and_keeps_the_last_snapshot_whole(uninterrupted, tmp_path,
                                                                                      kilobytes, options):
    first = run_main(*train_arguments(tmp_path, 1, *options, "--epochs", "1"))
    assert first.returncode == 0, first.stderr
    full = subprocess.run([str(ROOT / "resume.sh"), str(tmp_path / "breakout_1.pkl"), "--epochs", "2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, preexec_fn=files_limited_to(kilobytes))
    assert_stops_with_clear_error(full, "could not save", "free space in", f"./resume.sh {tmp_path / 'breakout_1.pkl'}")
    assert re.search(r"replay memory takes about 0\.[0-9] MB more .* the snapshot about [0-9.]+ MB", full.stderr)
    assert "File too large" in full.stderr and "inline_container" not in full.stderr  # the write's own cause
    assert not (tmp_path / "breakout_2.pkl").exists() and not list(tmp_path.glob(".*.tmp"))
    assert not (tmp_path / "breakout.replay.new").exists()

    again = resume_run(str(tmp_path / "breakout_1.pkl"), "--epochs", "2")
    assert again.returncode == 0, again.stderr
    assert rows_apart_from_timing(tmp_path) == uninterrupted  # nothing of the run was lost


def test_a_stop_just_as_the_random_phase_ends_saves_the_run_to_begin_its_training(tmp_path, caplog):
    """A Ctrl-C as the random phase's line is logged, before training begins: the run once saved nothing there,
    yet said it had ("continue with ./resume.sh None")."""
    settings = parse_options(["breakout", *SMALL_EPOCHS, "--epochs", "1"])
    seeds = Seeds.of(5)
    games = make_games(settings.environment, settings.agent, settings.replay.history_length, seeds.emulator)
    parts = build_parts(games, settings.network, settings.agent, settings.replay, seeds, trains=True, csv_path=None,
                        progress=False, curves=None)
    stop = StopRequest()
    runner = PhaseRunner(parts, settings.loop, settings.replay, settings.values(), RunFiles(str(tmp_path / "breakout")),
                         stop)

    class StopAsTheRandomPhaseIsLogged(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("random: "):
                stop.request()

    caplog.set_level(logging.INFO)
    logging.getLogger().addHandler(handler := StopAsTheRandomPhaseIsLogged())
    try:
        runner.train_and_test(None, None)
    finally:
        logging.getLogger().removeHandler(handler)
    assert runner.saved_on_stop and runner.last_snapshot == tmp_path / "breakout_1.pkl"
    stopped = load_snapshot(str(runner.last_snapshot)).stopped
    assert stopped is not None and (stopped.phase, stopped.steps_done) == ("train", 0)
    assert runner.interrupted_message().endswith(f"continue with ./resume.sh {tmp_path / 'breakout_1.pkl'}")


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["just after the first", "while the replay memory is written",
                                    "once the snapshot is saved"])
def test_a_second_ctrl_c_stops_at_once_saying_truly_what_was_saved(tmp_path, moment):
    """Wherever it lands: one line, exit code 130, and no file half written.  A replay memory of 100,000
    transitions (130 MB on disk) makes the save last long enough to land in it."""
    process = subprocess.Popen(train_command(tmp_path, 1, "--train_steps", "5000", "--replay_size", "100000"),
                               cwd=ROOT, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        if "random: 200 steps" in line:  # the training phase begins
            break
    process.send_signal(signal.SIGINT)
    if moment == "just after the first":
        time.sleep(0.02)  # two signals at once would arrive as one
    elif moment == "while the replay memory is written":
        while not list(tmp_path.glob(".breakout.replay*.tmp")) and process.poll() is None:
            time.sleep(0.001)
    else:
        for line in process.stderr:
            if line.split(" ", 2)[-1].startswith("saved "):
                break
    process.send_signal(signal.SIGINT)
    rest = process.stderr.read()
    process.wait(timeout=60)
    assert "Traceback" not in rest and "Exception ignored" not in rest, rest
    last = rest.strip().splitlines()[-1]
    snapshot = tmp_path / "breakout_1.pkl"
    saved = f"and saved where it stopped; continue with ./resume.sh {snapshot}"
    if process.returncode == 0:  # the run had ended before the second signal came (in the last case, as a rule)
        assert last == f"stopped during epoch 1 train {saved}", rest
        return
    assert process.returncode == 130, rest
    assert last.startswith("stopped at once "), last
    named = re.search(r"\./resume\.sh (\S+)$", last)
    if named:  # what the line says was saved was, whole: a cut save leaves temporary files, which a next run clears
        assert named[1] == str(snapshot) and load_snapshot(named[1]).stopped is not None
    elif "while saving" not in last:
        assert last.endswith("no snapshot was saved yet") and not snapshot.exists()


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A real file system of 4 MB (tmpfs), where this machine lets the tests mount one (as root on Linux)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.slow
def test_a_run_whose_first_snapshot_and_replay_file_cannot_fit_on_the_disk_is_refused_before_it_starts(small_disk,
                                                                                                     tmp_path):
    """4,000 transitions of 36x36 screens take 5.2 MB on disk; 500 take 0.65 MB, which fit with the snapshot."""
    refused = run_main("breakout", *SMALL_EPOCHS, "--epochs", "1", "--replay_size", "4000", "--save_weights_prefix",
                       str(small_disk / "breakout"), "--csv_file", str(tmp_path / "breakout.csv"))
    assert_stops_with_clear_error(refused, "the first snapshot and replay file need", "MB in", "MB are free",
                                  "--replay_size")
    assert not list(small_disk.iterdir()) and not (tmp_path / "breakout.csv").exists()
    taken = run_main("breakout", *SMALL_EPOCHS, "--epochs", "1", "--replay_size", "500", "--save_weights_prefix",
                     str(small_disk / "breakout"), "--csv_file", str(tmp_path / "breakout.csv"))
    assert taken.returncode == 0, taken.stderr
    assert (small_disk / "breakout_1.pkl").is_file()


@pytest.mark.slow
def test_a_gymnasium_id_resumes_exactly_too(tmp_path):
    """Its random frame skips and sticky actions come from the id's own generator, kept with the emulator."""
    gym = ["--environment", "gym"]
    whole, stopped = tmp_path / "whole", tmp_path / "stopped"
    for folder, epochs in ((whole, 3), (stopped, 2)):
        folder.mkdir()
        arguments = train_arguments(folder, epochs, *gym)
        arguments[arguments.index("breakout")] = "Breakout-v0"
        result = run_main(*arguments)
        assert result.returncode == 0, result.stderr
    resumed = resume_run(str(stopped / "breakout_2.pkl"), "--epochs", "3")
    assert resumed.returncode == 0, resumed.stderr
    assert rows_apart_from_timing(stopped) == rows_apart_from_timing(whole)


VERSION_1 = ROOT / "tests" / "fixtures" / "snapshot_version_1"


def test_a_run_saved_by_an_earlier_version_is_refused_in_one_line_naming_the_version_that_resumes_it(tmp_path):
    """The fixture was saved in the middle of a phase and a game by the toolkit before it became one package; its
    games drew their random numbers as that version did, so only that version can go on with them exactly."""
    for name in ("breakout_2.pkl", "breakout.csv"):
        shutil.copy(VERSION_1 / name, tmp_path / name)
    assert torch.load(tmp_path / "breakout_2.pkl", weights_only=True)["version"] == 1
    resumed = run_script("resume.sh", str(tmp_path / "breakout_2.pkl"), "--save_weights_prefix",
                         str(tmp_path / "breakout"), "--csv_file", str(tmp_path / "breakout.csv"))
    assert_clear_error(resumed, "saved by simple_dqn 2.3.0 or earlier", "resume it with simple_dqn 2.3.0")
    assert (tmp_path / "breakout.csv").read_bytes() == (VERSION_1 / "breakout.csv").read_bytes()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["breakout.csv", "breakout_2.pkl"]


def test_snapshots_of_earlier_versions_keep_their_no_ops_in_steps_unless_a_protocol_says_frames():
    snapshot = load_snapshot(VERSION_1 / "breakout_2.pkl")
    assert snapshot.options["noop_unit"] == "steps"
    assert parse_options([], snapshot_options=snapshot.options).agent.noop_unit == "steps"
    assert parse_options(["--protocol", "nature"], snapshot_options=snapshot.options).agent.noop_unit == "frames"


def test_a_resumed_phase_counts_on_from_where_its_progress_bar_stopped(capsys):
    statistics = Statistics(progress=True)
    statistics.start_phase(3, "train", 100, so_far={**Statistics.nothing_counted(), "steps": 40,
                                                    "game_rewards": [2.0], "game_frames": [900]})
    statistics.on_steps(Step(np.array([1.0]), np.array([False]), np.array([False]), np.array([950])), [])
    statistics.abandon_phase()
    shown = capsys.readouterr().err
    # The 40 steps of the earlier run are where the bar starts, not 40 steps made in no time by this one.
    assert "40/100" in shown and "?step/s" in shown.split("40/100")[1].split("\r")[0]
    assert statistics.steps == 41 and statistics.game_rewards == [2.0]
