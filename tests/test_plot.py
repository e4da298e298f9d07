"""plot.sh on real results CSVs."""

import shutil

import matplotlib.pyplot as plt

from conftest import assert_clear_error, run_script
from phase_statistics import read_csv_rows


def test_plot_sh_writes_a_1280_by_720_png_beside_the_csv(trained_run, tmp_path):
    csv_file = tmp_path / "breakout.csv"
    shutil.copy(trained_run / "breakout.csv", csv_file)
    result = run_script("plot.sh", str(csv_file))
    assert result.returncode == 0, result.stderr
    image = plt.imread(tmp_path / "breakout.png")
    assert image.shape[:2] == (720, 1280)
    assert image[..., :3].std() > 0.05  # lines and text, not a blank page


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


def test_a_field_not_in_the_csv_is_named_with_the_fields_that_are(trained_run, tmp_path):
    result = run_script("plot.sh", str(trained_run / "breakout.csv"), "--fields", "meanq,bogus",
                        "--png_file", str(tmp_path / "x.png"))
    assert_clear_error(result, "bogus not in the CSV", "average_reward", "meancost")
    assert not (tmp_path / "x.png").exists()


def test_a_file_that_is_not_a_results_csv_is_refused(tmp_path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    assert_clear_error(run_script("plot.sh", str(other)), "is not a results CSV")
    assert_clear_error(run_script("plot.sh", str(tmp_path / "missing.csv")), "cannot read")
