"""End to end through the real scripts: train, test, resume, repeatability and bad input."""

import csv
import io
import re
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest
import torch

from conftest import (
    PAPER_SCREENS,
    ROOT,
    TINY_RUN,
    assert_clear_error,
    copy_toolkit,
    resume_run,
    run_command,
    run_main,
    run_script,
)
from simple_dqn.command_line import CommandLine, build_parser
from simple_dqn.main import main
from simple_dqn.runs.checkpoint import unpack_screens
from simple_dqn.runs.results_csv import CSV_COLUMNS, TIME_COLUMNS, read_csv_rows
from simple_dqn.script_help import SCRIPT_OPTIONS
from simple_dqn.settings import declarations
from simple_dqn.wording import counted, shown


def outputs(folder, name="breakout"):
    return ["--save_weights_prefix", str(folder / name), "--csv_file", str(folder / f"{name}.csv")]


@pytest.mark.slow
def test_training_writes_a_snapshot_per_epoch_and_a_row_per_phase(trained_run):
    assert sorted(path.name for path in trained_run.glob("*.pkl")) == ["breakout_1.pkl", "breakout_2.pkl"]
    with open(trained_run / "breakout.csv", newline="") as file:
        reader = csv.reader(file)
        assert tuple(next(reader)) == CSV_COLUMNS
    rows = read_csv_rows(trained_run / "breakout.csv")
    assert [(row["epoch"], row["phase"]) for row in rows] == [
        ("0", "random"), ("1", "train"), ("1", "test"), ("2", "train"), ("2", "test")]
    assert [int(row["steps"]) for row in rows] == [200, 400, 300, 400, 300]
    assert [int(row["total_train_steps"]) for row in rows] == [0, 400, 400, 800, 800]
    assert [int(row["weight_updates"]) for row in rows] == [0, 100, 100, 200, 200]
    assert int(rows[-1]["replay_memory_count"]) == 1000
    assert float(rows[1]["meancost"]) > 0 and rows[2]["meancost"] == "nan"
    assert float(rows[3]["last_exploration_rate"]) == pytest.approx(1 - 0.9 * 799 / 1000)
    assert int(rows[2]["nr_games"]) >= 1  # test games are capped at --max_test_frames 800


@pytest.mark.slow
def test_train_sh_trains_by_game_name_into_snapshots_and_results(tmp_path):
    result = run_script("train.sh", "roms/pong.bin", *TINY_RUN, "--epochs", "1", "--test_steps", "0",
                        *outputs(tmp_path, "pong"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "pong_1.pkl").is_file()
    assert len(read_csv_rows(tmp_path / "pong.csv")) == 2
    assert "random:" in result.stderr and "epoch 1 train:" in result.stderr


@pytest.mark.slow
def test_train_sh_names_its_files_after_the_game_in_snapshots_and_results(tmp_path):
    """In a copy of the toolkit, so the real snapshots/ and results/ folders stay untouched."""
    copy = copy_toolkit(tmp_path)
    arguments = [*TINY_RUN, *PAPER_SCREENS, "--epochs", "1", "--test_steps", "0", "--progress", "true"]
    result = run_command([str(copy / "train.sh"), "breakout", *arguments])
    assert result.returncode == 0, result.stderr
    assert (copy / "snapshots" / "breakout_1.pkl").is_file() and (copy / "results" / "breakout.csv").is_file()
    assert "7063 bytes each" in result.stderr
    assert "step/s" in result.stderr, "a progress bar shows steps per second"
    assert "epoch 1 train: 400 steps in" in result.stderr, "each phase logs a summary"
    labelled = run_command([str(copy / "train.sh"), "SpaceInvaders", "try2", *TINY_RUN, "--epochs", "1",
                            "--train_steps", "100", "--test_steps", "0"])  # what it is called is all that is looked at
    assert labelled.returncode == 0, labelled.stderr
    assert (copy / "snapshots" / "space_invaders_try2_1.pkl").is_file()
    assert (copy / "results" / "space_invaders_try2.csv").is_file()


@pytest.mark.slow
def test_train_sh_help_lists_every_option_group_with_defaults():
    result = run_script("train.sh", "--help")
    assert result.returncode == 0
    for heading in ("environment:", "replay memory:", "network:", "agent:", "main loop:", "common:"):
        assert heading in result.stdout
    for option in ("--train_steps", "--replay_size", "--exploration_rate_end", "--backend", "--device",
                   "--random_seed"):
        assert option in result.stdout
    assert "(default: 250000)" in result.stdout
    assert "--preset {cleanrl,dopamine,fast,nature,smoke}" in result.stdout


@pytest.mark.slow
def test_python_m_simple_dqn_help_lists_the_options_train_sh_help_lists():
    package, script = run_main("--help"), run_script("train.sh", "--help")
    assert package.returncode == script.returncode == 0
    listed = [re.findall(r"^  (--\w+)", result.stdout, re.MULTILINE) for result in (package, script)]
    assert "--learning_rate" in listed[0] and listed[0] == listed[1]


def test_every_option_has_one_declaration_with_a_help_and_the_command_line_takes_each_once():
    declared = [(group.TITLE, field.name) for group, field, _ in declarations()]
    parsed = [action.dest for action in build_parser()._actions if action.dest != "help"]
    assert sorted(name for _, name in declared) == sorted(parsed)
    assert len(set(parsed)) == len(parsed)
    assert all(declaration.help for _, _, declaration in declarations())


@pytest.mark.slow
def test_test_sh_plays_a_test_phase_with_the_snapshot_and_prints_the_scores(trained_run):
    rows_before = read_csv_rows(trained_run / "breakout.csv")
    result = run_script("test.sh", str(trained_run / "breakout_2.pkl"), "--test_steps", "500",
                        "--max_test_frames", "800", "--progress", "false")
    assert result.returncode == 0, result.stderr
    assert "loaded" in result.stderr and "breakout" in result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("tested ") and "average" in last and "min" in last and "max" in last
    assert "epoch 2 test:" in result.stderr, "the test phase is labelled with the snapshot's epoch"
    assert read_csv_rows(trained_run / "breakout.csv") == rows_before, "testing adds no row to the training CSV"


@pytest.mark.slow
def test_test_sh_stopped_by_ctrl_c_says_it_wrote_nothing(trained_run):
    process = subprocess.Popen([str(ROOT / "test.sh"), str(trained_run / "breakout_2.pkl"), "--test_steps", "100000",
                                "--progress", "false"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        if "with 4 actions" in line:  # the parts are built: the test phase begins in a moment
            break
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    rest = process.stderr.read()
    assert process.wait(timeout=60) == 130, rest
    assert rest.strip().splitlines()[-1] == "stopped during epoch 2 test; nothing was written"


@pytest.mark.slow
def test_resume_continues_at_the_next_epoch_with_the_same_counters(trained_run, tmp_path):
    shutil.copytree(trained_run, tmp_path, dirs_exist_ok=True)
    with open(tmp_path / "breakout.csv") as file:
        rows_before = file.read()
    (tmp_path / "breakout_2.pkl").unlink()
    # The replay memory beside the snapshots is epoch 2's: epoch 1's goes on with an empty one, when allowed.
    result = resume_run(str(tmp_path / "breakout_1.pkl"), "--epochs", "3", "--allow_empty_replay", "true",
                        *outputs(tmp_path))
    assert result.returncode == 0, result.stderr
    rows = read_csv_rows(tmp_path / "breakout.csv")
    assert [(row["epoch"], row["phase"]) for row in rows] == [
        ("0", "random"), ("1", "train"), ("1", "test"), ("2", "train"), ("2", "test"), ("3", "train"), ("3", "test")]
    assert rows_before.splitlines()[:4] == (tmp_path / "breakout.csv").read_text().splitlines()[:4]
    # Epoch 2 again from the epoch-1 snapshot: the counters and the exploration schedule go on from there.
    original = {row["phase"]: row for row in read_csv_rows(trained_run / "breakout.csv") if row["epoch"] == "2"}
    resumed = {row["phase"]: row for row in rows if row["epoch"] == "2"}
    for column in ("total_train_steps", "last_exploration_rate", "steps"):
        assert resumed["train"][column] == original["train"][column]
    # Updates go on from the snapshot's count; replay memory starts empty, so the first few wait for data.
    assert 100 + 90 <= int(resumed["train"]["weight_updates"]) < int(original["train"]["weight_updates"])
    assert int(rows[-2]["total_train_steps"]) == 1200
    snapshot = torch.load(tmp_path / "breakout_3.pkl", weights_only=True)
    assert snapshot["epoch"] == 3 and snapshot["agent"]["weight_updates"] == int(rows[-2]["weight_updates"])
    assert snapshot["statistics"]["total_time"] > float(rows[2]["total_time"])
    # meanq goes on being measured on the validation states drawn in the first run.
    first = torch.load(trained_run / "breakout_1.pkl", weights_only=True)
    np.testing.assert_array_equal(unpack_screens(snapshot["validation_states"]),
                                  unpack_screens(first["validation_states"]))


@pytest.mark.slow
def test_a_snapshot_keeps_the_validation_states(trained_run):
    states = unpack_screens(torch.load(trained_run / "breakout_1.pkl", weights_only=True)["validation_states"])
    assert states.shape == (64, 4, 84, 84) and states.any()


@pytest.mark.slow
def test_resume_keeps_the_optimizer_it_was_trained_with(trained_run):
    assert_clear_error(run_script("resume.sh", str(trained_run / "breakout_2.pkl"), "--epochs", "3",
                                  "--optimizer", "adam"),
                       "trained with --optimizer centered_rmsprop")


@pytest.mark.slow
def test_the_same_seed_gives_the_same_csv_apart_from_times_with_screens_compressed_or_not(tmp_path):
    def csv_without_times(folder, *options):
        folder.mkdir()
        result = run_main("breakout", *TINY_RUN, "--epochs", "1", "--random_seed", "11", *outputs(folder), *options)
        assert result.returncode == 0, result.stderr
        return [{k: v for k, v in row.items() if k not in TIME_COLUMNS}
                for row in read_csv_rows(folder / "breakout.csv")]

    first, second = csv_without_times(tmp_path / "a"), csv_without_times(tmp_path / "b")
    assert first == second
    assert float(first[1]["meancost"]) > 0
    assert csv_without_times(tmp_path / "compressed", "--replay_compress", "true") == first


@pytest.mark.slow
def test_a_new_run_does_not_overwrite_an_earlier_one(trained_run):
    result = run_main("breakout", *TINY_RUN, *outputs(trained_run))
    assert_clear_error(result, "breakout_2.pkl", "hold an earlier run", "./resume.sh")


@pytest.mark.slow
def test_a_csv_that_no_snapshot_continues_is_replaced(tmp_path):
    (tmp_path / "breakout.csv").write_text("left by a run stopped before its first snapshot\n")
    result = run_main("breakout", *TINY_RUN, "--epochs", "1", "--train_steps", "0", "--test_steps", "0",
                      *outputs(tmp_path))
    assert result.returncode == 0, result.stderr
    assert [row["phase"] for row in read_csv_rows(tmp_path / "breakout.csv")] == ["random"]


@pytest.mark.parametrize("script, arguments, fragments", [
    ("train.sh", ["breakout", "--learning_rat", "1e-4"], ["unrecognized arguments: --learning_rat 1e-4",
                                                         "did you mean --learning_rate?"]),
    ("train.sh", ["breakout", "--exploration_rate=0.1"],
     ["did you mean --exploration_rate_start, --exploration_rate_end, --exploration_rate_test?"]),
    ("plot.sh", ["results/x.csv", "--figure_widht", "3"], ["did you mean --figure_width, --figure_height?"]),
])
def test_a_mistyped_option_is_answered_with_the_closest_ones(script, arguments, fragments):
    assert_clear_error(run_script(script, *arguments), *fragments)


@pytest.mark.parametrize("arguments, expected", [
    (["breakout", "--learning-rate", "0.1"], {"learning_rate": 0.1}),
    (["breakout", "--exploration-rate-end=0.2"], {"exploration_rate_end": 0.2}),
    (["breakout", "--double_q"], {"double_q": True}),
    (["--dueling", "breakout"], {"dueling": True, "game": "breakout"}),
    (["breakout", "--no-double_q", "--no_dueling"], {"double_q": False, "dueling": False}),
    (["breakout", "--double-q", "false", "--dueling", "1"], {"double_q": False, "dueling": True}),
    (["breakout", "--minimal_action_set=no"], {"minimal_action_set": False}),
])
def test_hyphens_bare_true_false_options_and_no_prefixes_are_understood(arguments, expected):
    values = CommandLine.parse(arguments).values
    assert {name: values[name] for name in expected} == expected


def test_a_word_after_a_true_false_option_that_is_neither_is_refused_as_its_value():
    assert_clear_error(run_main("breakout", "--double_q", "maybe"), "argument --double_q: expected true or false, "
                       "got 'maybe'")


@pytest.mark.parametrize("script, arguments, fragments", [
    ("train.sh", ["breakout", "--learn", "1e-4"], ["unrecognized arguments: --learn", "did you mean --learning_rate?"]),
    ("plot.sh", ["results/x.csv", "--fig", "3"], ["did you mean --figure_width, --figure_height?"]),
])
def test_an_abbreviation_is_refused_with_the_options_it_could_stand_for(script, arguments, fragments):
    assert_clear_error(run_script(script, *arguments), *fragments)


@pytest.mark.slow
def test_train_sh_help_shows_the_paths_train_sh_writes_and_true_false_as_typed():
    help_text = " ".join(run_script("train.sh", "--help").stdout.split())  # as one line: help wraps anywhere
    assert "(default: snapshots/{game})" in help_text and "(default: results/{game}.csv)" in help_text
    assert "--double_q [BOOL]" in help_text and "(default: false)" in help_text
    assert "None" not in help_text and "(default: True)" not in help_text and "(default: False)" not in help_text


def test_plot_sh_help_reads_like_the_other_scripts_help():
    help_text = run_script("plot.sh", "--help").stdout
    assert help_text.startswith("usage: plot.sh CSV [CSV ...] [options]")
    assert "--dpi N" in help_text and "(default: 80)" in help_text and "--png_file PATH" in help_text


def test_counts_and_true_false_read_as_typed():
    assert (counted(1, "game"), counted(0, "game"), counted(2, "game")) == ("1 game", "0 games", "2 games")
    assert (shown(True), shown(False), shown(0.25)) == ("true", "false", "0.25")


def test_an_unknown_option_like_no_other_gets_no_suggestion():
    result = run_script("train.sh", "breakout", "--zzz", "1")
    assert_clear_error(result, "unrecognized arguments: --zzz 1")
    assert "did you mean" not in result.stderr


@pytest.mark.parametrize("arguments, fragments", [
    (["breakot"], ["unknown game", "breakout"]),
    (["breakout", "--replay_size", "1000000000"], ["GB of memory", "GB are free", "--replay_size"]),
    (["breakout", "--history_length", "0"], ["--history_length", "at least 1"]),
    (["breakout", "--exploration_rate_end", "1.5"], ["--exploration_rate_end", "between 0 and 1"]),
    (["breakout", "--train_steps", "-5"], ["--train_steps", "0 or more"]),
    (["breakout", "--minimal_action_set", "maybe"], ["--minimal_action_set", "true or false"]),
    (["breakout", "--min_reward", "2"], ["--min_reward"]),
    (["breakout", "--learning_rate", "nan"], ["--learning_rate", "finite"]),
    (["breakout", "--discount_rate", "inf"], ["--discount_rate", "finite"]),
    (["breakout", "--screen_width", "10"], ["--screen_width", "between 36"]),
    (["breakout", "--replay_size", "20"], ["--replay_size 20 must exceed"]),
    (["breakout", "--random_steps", "0", "--train_steps", "0", "--test_steps", "0"], ["nothing to do"]),
    (["breakout", "--resume"], ["--resume needs --load_weights"]),
    ([], ["name a game"]),
])
@pytest.mark.slow
def test_bad_options_get_one_clear_line_and_exit_code_2(arguments, fragments, tmp_path):
    assert_clear_error(run_main(*arguments, *outputs(tmp_path)), *fragments)


@pytest.mark.slow
def test_a_corrupt_snapshot_is_refused(trained_run, tmp_path):
    truncated = tmp_path / "truncated.pkl"
    truncated.write_bytes((trained_run / "breakout_1.pkl").read_bytes()[:5000])
    assert_clear_error(run_script("test.sh", str(truncated)), "corrupt, truncated or not a snapshot file")
    garbage = tmp_path / "garbage.pkl"
    garbage.write_bytes(b"\x00not a snapshot at all" * 10)
    assert_clear_error(run_script("test.sh", str(garbage)), "corrupt, truncated or not a snapshot file")
    other = tmp_path / "other.pkl"
    torch.save({"weights": torch.zeros(3)}, other)
    assert_clear_error(run_script("test.sh", str(other)), "not a simple_dqn snapshot")
    assert_clear_error(run_script("test.sh", str(tmp_path / "missing.pkl")), "does not exist")
    assert_clear_error(run_script("test.sh", str(tmp_path)), "is not a file")


@pytest.mark.slow
def test_damaged_weights_that_still_load_are_caught_by_the_checksum(trained_run, tmp_path):
    contents = torch.load(trained_run / "breakout_1.pkl", weights_only=True)
    contents["network"]["online"]["head.2.bias"][0] += 1e-3
    torch.save(contents, tmp_path / "damaged.pkl")
    assert_clear_error(run_script("test.sh", str(tmp_path / "damaged.pkl")), "corrupt", "checksum")


@pytest.mark.slow
def test_a_snapshot_cannot_drive_a_network_of_another_shape(trained_run):
    assert_clear_error(run_script("test.sh", str(trained_run / "breakout_1.pkl"), "--history_length", "2"),
                       "trained with --history_length 4, not 2")
    assert_clear_error(run_script("test.sh", str(trained_run / "breakout_1.pkl"), "--dueling"),
                       "trained with --dueling false, not true")


@pytest.mark.slow
def test_resuming_an_older_snapshot_does_not_overwrite_newer_ones(trained_run):
    assert_clear_error(run_script("resume.sh", str(trained_run / "breakout_1.pkl"), "--epochs", "3"),
                       "breakout_2.pkl is newer", "./resume.sh")


@pytest.mark.slow
def test_resume_refuses_a_results_file_it_did_not_write(trained_run, tmp_path):
    foreign = tmp_path / "foreign.csv"
    foreign.write_text("name,score\nalice,3\n")
    assert_clear_error(run_script("resume.sh", str(trained_run / "breakout_2.pkl"), "--epochs", "3",
                                  "--csv_file", str(foreign)), "not a results CSV")
    assert foreign.read_text() == "name,score\nalice,3\n"


@pytest.mark.slow
def test_resuming_a_finished_run_asks_for_more_epochs(trained_run):
    assert_clear_error(run_script("resume.sh", str(trained_run / "breakout_2.pkl")),
                       "already at epoch 2 of --epochs 2", "larger --epochs")


@pytest.mark.slow
def test_train_sh_wants_the_game_before_the_options():
    assert_clear_error(run_script("train.sh", "--epochs", "1", "breakout"), "name the game first")
    assert_clear_error(run_script("train.sh", "breakout", "a/b"), "label 'a/b'")


@pytest.mark.slow
def test_a_snapshot_cannot_play_another_game(trained_run):
    assert_clear_error(run_script("test.sh", str(trained_run / "breakout_1.pkl"), "pong"),
                       "trained on breakout, not pong")
    assert_clear_error(run_script("test.sh", str(trained_run / "breakout_1.pkl"), "--minimal_action_set", "false"),
                       "trained with 4 actions", "18")


@pytest.mark.slow
def test_a_snapshot_that_could_run_code_is_refused(tmp_path):
    """weights_only loading: a pickle that would call a function is rejected, not executed."""
    evil = tmp_path / "evil.pkl"
    marker = tmp_path / "was_run"
    buffer = io.BytesIO()
    torch.save({"format": "simple_dqn snapshot", "payload": Exploit(str(marker))}, buffer)
    evil.write_bytes(buffer.getvalue())
    assert_clear_error(run_script("test.sh", str(evil)), "not a simple_dqn snapshot", "could run code")
    assert not marker.exists()


class Exploit:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


WRITTEN_PATHS = [(field.name, declaration.writes) for _, field, declaration in declarations() if declaration.writes]


@pytest.mark.parametrize("option, kind", WRITTEN_PATHS, ids=[name for name, _ in WRITTEN_PATHS])
def test_every_path_a_run_writes_is_refused_in_one_line_where_it_cannot_be_written(option, kind, tmp_path, capsys):
    """Before anything runs: nothing is made, and the run's files are never half written into a wrong place."""
    folder, file = tmp_path / "folder", tmp_path / "file"
    folder.mkdir()
    file.write_text("a file")
    wrong_kind = [str(file)] if kind == "folder" else [str(folder), f"{tmp_path}/"]
    unwritable = "/proc/simple_dqn/run"  # no one, root included, makes a file there
    for path in [*wrong_kind, unwritable, str(file / "run")]:
        assert main(["pong", f"--{option}", path]) == 2
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: --{option} {path}"), lines
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file", "folder"] and not any(folder.iterdir())


@pytest.mark.parametrize("script", sorted(SCRIPT_OPTIONS))
def test_a_snapshot_scripts_help_shows_its_usage_and_its_own_options_first(script):
    result = run_script(script, "--help")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"usage: ./{script} SNAPSHOT") and len(lines) < 60
    shown = set(re.findall(r"^  (--\w+)", result.stdout, flags=re.MULTILINE))
    assert shown == {f"--{name}" for name in SCRIPT_OPTIONS[script]}
    assert lines[-1].startswith("Every option of ./train.sh --help applies too")
