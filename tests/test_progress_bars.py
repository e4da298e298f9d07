"""A phase's progress bar and the log lines written while it shows, read as a terminal would show them."""

import logging
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import MAIN, ROOT, TINY_RUN
from simple_dqn.dqn.games import Step
from simple_dqn.runs.statistics import Statistics

LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")
RANDOM_STEPS = int(TINY_RUN[TINY_RUN.index("--random_steps") + 1])  # a phase shorter than a second


def as_a_terminal_shows(text: str) -> list[str]:
    """Each line of ``text`` as a terminal leaves it: what follows a carriage return writes over the line from its
    start, so a bar cleared by spaces leaves nothing, and a bar not cleared stays before what is written after it."""
    shown = []
    for line in text.split("\n"):
        cells = ""
        for part in line.split("\r"):
            cells = part + cells[len(part):]
        shown.append(cells.rstrip())
    return shown


def test_a_line_logged_during_a_phase_is_written_above_its_bar_which_shows_each_percent(capsys, caplog):
    caplog.set_level(logging.INFO)
    console = logging.StreamHandler(sys.stderr)  # the captured stderr, as logging.basicConfig would write to it
    logging.getLogger().addHandler(console)
    try:
        statistics = Statistics(progress=True)
        statistics.start_phase(0, "random", 200)
        step = Step(np.zeros(1), np.zeros(1, bool), np.zeros(1, bool), np.ones(1, int))
        for _ in range(100):
            statistics.on_steps(step, [])
        logging.getLogger("simple_dqn").info("halfway")
        statistics.abandon_phase()
    finally:
        logging.getLogger().removeHandler(console)
    shown = capsys.readouterr().err
    assert "halfway" in as_a_terminal_shows(shown)
    not_drawn = [count for count in range(0, 101, 2) if f"| {count}/200 [" not in shown]
    assert not not_drawn, "the bar is drawn at each percent of its phase, however fast the phase runs"


@pytest.fixture(scope="module")
def training_stderr(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Read as bytes: text mode would turn each carriage return into a line break."""
    folder = tmp_path_factory.mktemp("progress")
    result = subprocess.run([*MAIN, "breakout", *TINY_RUN, "--epochs", "1", "--progress", "true",
                             "--save_weights_prefix", str(folder / "breakout"), "--csv_file",
                             str(folder / "breakout.csv")], cwd=ROOT, capture_output=True, timeout=300)
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    return stderr


@pytest.mark.slow
def test_every_log_line_of_a_run_with_progress_bars_starts_a_line_of_its_own(training_stderr):
    shown = as_a_terminal_shows(training_stderr)
    glued = [line for line in shown if LOG_LINE.search(line) and (not LOG_LINE.match(line) or "%|" in line)]
    assert not glued, "log lines sharing a line with a progress bar's text:\n" + "\n".join(glued)
    summaries = [line for line in shown if LOG_LINE.match(line) and re.search(r" (random|epoch 1 train|epoch 1 test): "
                                                                               r"\d+ steps in ", line)]
    assert len(summaries) == 3, "each phase's summary line is shown whole"


@pytest.mark.slow
def test_the_random_phases_bar_advances_before_the_phase_ends(training_stderr):
    random_phase = training_stderr.split(f"random: {RANDOM_STEPS} steps in")[0]
    shown_counts = [int(count) for count in re.findall(rf"random: +\d+%\|[^|]*\| *(\d+)/{RANDOM_STEPS} ",
                                                       random_phase)]
    assert any(0 < count < RANDOM_STEPS for count in shown_counts), f"the random phase's bar showed {shown_counts}"
