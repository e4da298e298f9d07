"""benchmarks/learning.sh: a preset's run kept with its curve, stopped after its hours and continued."""

import shutil

import pytest
import yaml

from conftest import ROOT, TINY_RUN, assert_clear_error, copy_toolkit, run_command, run_main
from simple_dqn.runs.results_csv import read_csv_rows

# Small screens make the updates cheap; one epoch of enough steps that the hours run out in its training (4,000 took
# some 14 s on 2 cores of an Intel Xeon with AMX, a fast CPU for this, so 2,500 some 10 s, against 0.002 hours,
# 7.2 s), long enough for the run to start up first (3.5 s on an AMD EPYC without AVX-512, the slowest).
OPTIONS = ["--train_steps", "2500", "--epochs", "1", "--screen_width", "36", "--screen_height", "36",
           "--random_seed", "3", "--progress", "false", "--backend", "cpu"]


@pytest.fixture
def toolkit(tmp_path):
    copy = copy_toolkit(tmp_path)
    (copy / "benchmarks").mkdir()
    for name in ("learning.sh", "learning_plot.py"):
        shutil.copy(ROOT / "benchmarks" / name, copy / "benchmarks" / name)
    return copy


@pytest.mark.slow
def test_a_run_stopped_after_its_hours_goes_on_when_started_again(toolkit):
    learning = str(toolkit / "benchmarks" / "learning.sh")
    stopped = run_command([learning, "pong", "smoke", "--hours", "0.002", *OPTIONS])
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped after 0.002 hours with benchmarks/learning/pong_smoke/snapshots/pong_" in stopped.stderr
    folder = toolkit / "benchmarks" / "learning" / "pong_smoke"
    stopped_rows = read_csv_rows(folder / "pong.csv")
    assert (folder / "learning.png").stat().st_size > 0 and len(stopped_rows) < 3
    finished = run_command([learning, "pong", "smoke", *OPTIONS])
    assert finished.returncode == 0, finished.stderr
    assert "going on from benchmarks/learning/pong_smoke/snapshots/pong_" in finished.stderr
    rows = read_csv_rows(folder / "pong.csv")
    assert [(row["epoch"], row["phase"]) for row in rows] == [("0", "random"), ("1", "train"), ("1", "test")]
    assert rows[:len(stopped_rows)] == stopped_rows
    record = yaml.safe_load((folder / "pong.yaml").read_text())
    assert record["preset"] == "smoke" and len(record["resumes"]) == 1
    assert "/" + str(toolkit).strip("/") not in record["command"], "the record names no folder of this machine"


def test_learning_sh_refuses_an_unknown_preset_or_a_bad_number_of_hours():
    learning = str(ROOT / "benchmarks" / "learning.sh")
    assert_clear_error(run_command([learning, "pong", "fastest"]), "no preset 'fastest'", "presets: cleanrl")
    assert_clear_error(run_command([learning, "pong", "fast", "--hours", "soon"]), "--hours takes a positive number")
    assert_clear_error(run_command([learning, "pong", "fast", "--hours", "0.0001"]), "a second or more")
    assert_clear_error(run_command([learning, "pong"]), "usage: benchmarks/learning.sh GAME PRESET")


def test_learning_sh_keeps_a_run_it_cannot_go_on_with(toolkit):
    folder = toolkit / "benchmarks" / "learning" / "pong_smoke"
    folder.mkdir(parents=True)
    (folder / "pong.csv").write_text("epoch,phase\n0,random\n")
    learning = str(toolkit / "benchmarks" / "learning.sh")
    assert_clear_error(run_command([learning, "pong", "smoke", *OPTIONS]),
                       "benchmarks/learning/pong_smoke holds a run (pong.csv) with no snapshot to go on from")
    assert (folder / "pong.csv").read_text() == "epoch,phase\n0,random\n"
    assert sorted(path.name for path in folder.iterdir()) == ["pong.csv"]


@pytest.mark.slow
def test_the_plot_shows_the_test_phases_of_a_results_csv(tmp_path):
    result = run_main("pong", *TINY_RUN, "--epochs", "1", "--csv_file", str(tmp_path / "pong.csv"))
    assert result.returncode == 0, result.stderr
    plotted = run_command([str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "benchmarks" / "learning_plot.py"),
                           str(tmp_path / "pong.csv"), str(tmp_path / "curve.png"), "--title", "pong, tiny"])
    assert plotted.returncode == 0, plotted.stderr
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
