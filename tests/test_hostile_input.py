"""Damaged files and wild option values end in a clear refusal, never a traceback, a hang or a crash."""

import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from simple_dqn.command_line import build_parser, check_settings, parse_options
from simple_dqn.dqn.replay_memory import ReplayMemory
from simple_dqn.errors import UsageError
from simple_dqn.runs.checkpoint import checksum, load_snapshot
from simple_dqn.runs.replay_file import load_replay
from simple_dqn.settings import declarations

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def run_files(trained_run):
    """A snapshot of the trained run and the replay memory saved with it, as bytes to damage."""
    return (trained_run / "breakout_2.pkl").read_bytes(), (trained_run / "breakout.replay").read_bytes()


def damaged(original: bytes, data: st.DataObject) -> bytes:
    """The file cut short, with bits flipped, with a stretch overwritten by noise, or noise alone."""
    how = data.draw(st.sampled_from(["truncate", "flip", "overwrite", "noise"]))
    if how == "truncate":
        return original[:data.draw(st.integers(0, len(original) - 1))]
    if how == "noise":
        return data.draw(st.binary(max_size=4096))
    changed = bytearray(original)
    if how == "flip":
        for position in data.draw(st.lists(st.integers(0, len(original) - 1), min_size=1, max_size=8)):
            changed[position] ^= 1 << data.draw(st.integers(0, 7))
    else:
        start = data.draw(st.integers(0, len(original) - 1))
        noise = data.draw(st.binary(min_size=1, max_size=512))
        changed[start:start + len(noise)] = noise
    return bytes(changed)


@pytest.mark.slow
@FUZZ
@given(data=st.data())
def test_a_damaged_snapshot_is_refused_or_loads_unchanged(run_files, tmp_path, data, trained_run):
    original, _ = run_files
    path = tmp_path / "damaged.pkl"
    path.write_bytes(damaged(original, data))
    try:
        contents = load_snapshot(path).contents
    except UsageError:
        return
    # Only a change the format ignores (a bit of padding, say) loads, and then the contents are the very same.
    assert checksum(contents) == checksum(load_snapshot(trained_run / "breakout_2.pkl").contents)


@pytest.mark.slow
@FUZZ
@given(data=st.data())
def test_a_damaged_replay_memory_is_refused_or_loads_whole(run_files, tmp_path, data, trained_run):
    _, original = run_files
    snapshot = load_snapshot(trained_run / "breakout_2.pkl")
    path = tmp_path / "damaged.replay"
    path.write_bytes(damaged(original, data))
    memory = ReplayMemory(2000, seed=0)
    try:
        load_replay(path, memory, snapshot.save_id, 2)
    except UsageError:
        return
    expected = ReplayMemory(2000, seed=0)
    load_replay(trained_run / "breakout.replay", expected, snapshot.save_id, 2)
    assert np.array_equal(memory.screens.screens, expected.screens.screens)
    assert (memory.count, memory.current) == (expected.count, expected.current)


OPTIONS = [action.option_strings[0] for action in build_parser()._actions if action.option_strings
           and action.option_strings[0] not in ("-h", "--help", "--resume", "--load_weights")]


@FUZZ
@given(option=st.sampled_from(OPTIONS),
       value=st.one_of(st.text(max_size=12), st.integers(-10**12, 10**12).map(str),
                       st.floats(allow_nan=True, allow_infinity=True).map(str)))
@example(option="--config", value="\x00")  # a path no file can have: open() raises ValueError, not OSError
@example(option="--config", value="\n")  # a path with a line break, shown escaped in the one line
def test_any_value_of_any_option_is_taken_or_refused_in_one_line(option, value):
    try:
        options = parse_options(["breakout", option, value])
        check_settings(options)
    except SystemExit as stop:  # argparse's refusal: one line, exit code 2
        assert stop.code == 2
    except UsageError as error:
        assert "\n" not in str(error)


WRITTEN_PATHS = [f"--{field.name}" for _, field, declaration in declarations() if declaration.writes]
# Paths no run can write to, on any machine: folders, a path through a file, a folder no one can write in, names
# the file system refuses.
UNWRITABLE = ["/", f"{ROOT / 'src'}/", str(ROOT / "README.md" / "run"), "/proc/simple_dqn/run", "/proc/version/run",
              "run\x00", "r" * 300]


@FUZZ
@given(option=st.sampled_from(WRITTEN_PATHS), path=st.one_of(st.sampled_from(UNWRITABLE), st.text(max_size=12)))
def test_any_path_a_run_writes_is_taken_or_refused_in_one_line(option, path):
    try:
        check_settings(parse_options(["breakout", option, path]))
    except UsageError as error:
        assert "\n" not in str(error)
    except SystemExit as refused:  # a value that reads as an option ("-:") is argparse's own one-line usage error
        assert refused.code == 2 and path.startswith("-")
    else:
        assert path not in UNWRITABLE


@pytest.mark.slow
@pytest.mark.parametrize("how", ["cut in half", "one byte changed"])
def test_resuming_from_a_damaged_replay_memory_file_stops_with_one_line(trained_run, tmp_path, how):
    shutil.copytree(trained_run, tmp_path, dirs_exist_ok=True)
    replay = tmp_path / "breakout.replay"
    contents = bytearray(replay.read_bytes())
    if how == "cut in half":
        contents = contents[:len(contents) // 2]
    else:
        contents[len(contents) // 2] ^= 0xFF
    replay.write_bytes(bytes(contents))
    result = subprocess.run([str(ROOT / "resume.sh"), str(tmp_path / "breakout_2.pkl"), "--epochs", "3",
                             "--csv_file", str(tmp_path / "breakout.csv"), "--save_weights_prefix",
                             str(tmp_path / "breakout")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "corrupt or truncated" in result.stderr.strip().splitlines()[-1]
