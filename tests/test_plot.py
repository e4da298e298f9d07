"""plot.sh on real results CSVs."""

import shutil
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend that needs no display)

from conftest import assert_clear_error, run_script  # noqa: E402
from simple_dqn.runs.results_csv import read_csv_rows  # noqa: E402
from simple_dqn.watch.plot import DEFAULT_FIELDS, draw, parsed_row, run_names  # noqa: E402


@pytest.mark.slow
def test_plot_sh_writes_a_1280_by_720_png_beside_the_csv(trained_run, tmp_path):
    csv_file = tmp_path / "breakout.csv"
    shutil.copy(trained_run / "breakout.csv", csv_file)
    result = run_script("plot.sh", str(csv_file))
    assert result.returncode == 0, result.stderr
    image = plt.imread(tmp_path / "breakout.png")
    assert image.shape[:2] == (720, 1280)
    assert image[..., :3].std() > 0.05  # lines and text, not a blank page


@pytest.mark.slow
def test_several_runs_and_a_run_in_progress_plot_on_the_same_axes(trained_run, tmp_path):
    in_progress = tmp_path / "in_progress.csv"
    lines = (trained_run / "breakout.csv").read_text().splitlines()
    in_progress.write_text("\n".join(lines[:3]) + "\n")  # the random phase and the first train phase only
    assert [row["phase"] for row in read_csv_rows(in_progress)] == ["random", "train"]
    result = run_script("plot.sh", str(trained_run / "breakout.csv"), str(in_progress),
                        "--fields", "average_reward,steps_per_second,last_exploration_rate",
                        "--png_file", str(tmp_path / "compared.png"))
    assert result.returncode == 0, result.stderr
    assert plt.imread(tmp_path / "compared.png").shape[:2] == (720, 1280)


@pytest.mark.slow
def test_a_field_not_in_the_csv_is_named_with_the_fields_that_are(trained_run, tmp_path):
    result = run_script("plot.sh", str(trained_run / "breakout.csv"), "--fields", "meanq,bogus",
                        "--png_file", str(tmp_path / "x.png"))
    assert_clear_error(result, "bogus not in the CSV", "average_reward", "meancost")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.slow
def test_a_file_that_is_not_a_results_csv_is_refused(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    assert_clear_error(run_script("plot.sh", str(other)), "is not a results CSV")
    assert_clear_error(run_script("plot.sh", str(tmp_path / "missing.csv")), "cannot read")


@pytest.mark.slow
def test_each_figure_draws_each_phase_of_each_run_against_the_epoch(trained_run):
    rows = [parsed_row(row) for row in read_csv_rows(trained_run / "breakout.csv")]
    first_epoch_only = [row for row in rows if row["epoch"] <= 1]
    figure = draw({"full": rows, "first epoch": first_epoch_only}, list(DEFAULT_FIELDS), 80, (16, 9))
    axes = [axis for axis in figure.axes if axis.get_visible()]
    assert [axis.get_title() for axis in axes] == ["Average reward per game", "Number of games", "Average Q-value",
                                                   "Average loss"]
    q_value_lines = {line.get_label(): line for line in axes[2].get_lines()}
    assert set(q_value_lines) == {f"{run} {phase}" for run in ("full", "first epoch") for phase in ("random", "train",
                                                                                                     "test")}
    random_level = q_value_lines["full random"]
    assert list(random_level.get_xdata()) == [1, 2] and random_level.get_linestyle() == ":"  # across the epochs trained
    assert list(q_value_lines["full train"].get_xdata()) == [1, 2]
    assert list(q_value_lines["first epoch test"].get_xdata()) == [1]
    assert q_value_lines["first epoch test"].get_marker() == "o"  # a curve of one point still shows
    assert list(q_value_lines["full train"].get_ydata()) == [row["meanq"] for row in rows if row["phase"] == "train"]
    loss_labels = {line.get_label() for line in axes[3].get_lines()}
    assert "full test" not in loss_labels  # a test phase has no loss to draw
    plt.close(figure)


def test_runs_in_files_of_the_same_name_keep_apart_in_the_legend():
    assert run_names([Path("results/breakout.csv"), Path("results/breakout_adam.csv")]) == ["breakout", "breakout_adam"]
    assert run_names([Path("one/breakout.csv"), Path("two/breakout.csv")]) == ["one/breakout", "two/breakout"]


@pytest.mark.slow
def test_options_and_files_plot_cannot_use_get_one_line_errors(trained_run, tmp_path):
    csv_file = str(trained_run / "breakout.csv")
    assert_clear_error(run_script("plot.sh", csv_file, "--dpi", "0"), "--dpi")
    assert_clear_error(run_script("plot.sh", csv_file, "--figure_width", "0"), "--figure_width")
    assert_clear_error(run_script("plot.sh", csv_file, "--png_file", str(tmp_path / "x.txt")), ".png")
    cut_short = tmp_path / "cut.csv"
    cut_short.write_text((trained_run / "breakout.csv").read_text()[:300])
    assert_clear_error(run_script("plot.sh", str(cut_short)), "cut short")
    assert_clear_error(run_script("plot.sh", str(trained_run / "breakout_2.pkl")), "is not a results CSV")
