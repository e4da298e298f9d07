"""The sweep summary's aggregates over every run: IQM, stratified bootstrap intervals and the performance profile."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import trim_mean

from simple_dqn.sweeps.aggregates import (
    LANDMARKS,
    aggregate,
    interquartile_mean,
    stratified_indices,
)
from simple_dqn.sweeps.run import plan_runs
from simple_dqn.sweeps.summary import normalised_runs, summary_figure, write_summary

# Evaluation means by hand: seaquest has two runs of three, ALE/Boxing-v5 (a Gymnasium id) has no human score.
HAND_SCORES = {("breakout", 1): 12.0, ("breakout", 2): 30.5, ("breakout", 3): 21.0, ("pong", 1): -20.0,
               ("pong", 2): 3.0, ("pong", 3): 15.5, ("seaquest", 1): 420.0, ("seaquest", 2): 980.0,
               ("ALE/Boxing-v5", 1): 50.0}
HUMAN_AND_RANDOM = {"breakout": (31.8, 1.7), "pong": (9.3, -20.7), "seaquest": (20181.8, 68.4)}  # Nature's table
# What summary.py wrote for HAND_SCORES before it had the aggregates: the new summary.csv begins with these lines.
SUMMARY_CSV_BEFORE = """\
game,runs,seeds,mean,std,human_normalised_percent,paper_dqn,paper_human_normalised_percent
breakout,3,1 2 3,21.1667,9.2511,64.6733,401.2,1327.2425
pong,3,1 2 3,-0.5,18.0069,67.3333,18.9,132.0
seaquest,2,1 2,700.0,395.9798,3.1402,5286.0,25.9409
ALE/Boxing-v5,1,1,50.0,,,,
median,3,,,,64.6733,,132.0
"""


def synthetic_table(games: int = 10, seeds: int = 5, seed: int = 2021) -> list[np.ndarray]:
    """Human-normalised percent scores per game: a level per game and a skewed spread over seeds, as
    benchmarks/rliable_check.py draws them."""
    generator = np.random.default_rng(seed)
    levels = generator.uniform(-5, 250, size=games)
    table = levels + generator.gamma(2.0, 15.0, size=(seeds, games)) - 30.0
    return [table[:, game] for game in range(games)]


@pytest.fixture
def hand_written_sweep(tmp_path: Path) -> tuple[Path, list]:
    settings = {"games": ["breakout", "pong", "seaquest", "ALE/Boxing-v5"], "seeds": [1, 2, 3], "train_options": [],
                "protocol": "nature", "evaluation_options": []}
    specs = plan_runs(tmp_path, settings)
    for spec in specs:
        if (spec.game, spec.seed) in HAND_SCORES:
            (Path(spec.folder) / "evaluation").mkdir(parents=True)
            summary = {"mean": HAND_SCORES[spec.game, spec.seed]}
            (Path(spec.folder) / "evaluation" / "summary.json").write_text(json.dumps(summary))
    return tmp_path, specs


def by_hand_normalised() -> list[float]:
    return [100 * (score - HUMAN_AND_RANDOM[game][1]) / (HUMAN_AND_RANDOM[game][0] - HUMAN_AND_RANDOM[game][1])
            for (game, _), score in HAND_SCORES.items() if game in HUMAN_AND_RANDOM]


@pytest.mark.parametrize("runs", [1, 2, 3, 4, 5, 7, 8, 50, 57 * 3])
def test_the_iqm_is_a_quarter_trimmed_mean(runs):
    scores = np.random.default_rng(runs).normal(100, 80, size=(6, runs))
    assert interquartile_mean(scores) == pytest.approx(trim_mean(scores, 0.25, axis=1), rel=1e-12)


def test_the_iqm_is_over_every_run_of_every_game_even_when_their_seeds_differ():
    table = [*synthetic_table(), np.array([300.0, 500.0]), np.array([-3.0])]
    assert aggregate(table).iqm.value == pytest.approx(trim_mean(np.concatenate(table), 0.25), rel=1e-12)
    assert aggregate(table).mean.value == pytest.approx(np.concatenate(table).mean(), rel=1e-12)


def test_the_intervals_contain_their_estimates():
    aggregates = aggregate(synthetic_table())
    for estimate in (aggregates.iqm, aggregates.mean):
        assert estimate.lower < estimate.value < estimate.upper


def test_the_iqm_interval_agrees_with_rliables_on_the_same_table():
    """rliable 1.2.0's get_interval_estimates on this table (benchmarks/rliable_check.py, 50,000 resamples):
    IQM 122.06, interval 117.00 to 126.77. Other random draws: the ends agree within 3% of the width."""
    iqm = aggregate(synthetic_table()).iqm
    assert iqm.value == pytest.approx(122.06, abs=0.005)
    assert iqm.lower == pytest.approx(117.00, abs=0.03 * 9.77) and iqm.upper == pytest.approx(126.77, abs=0.03 * 9.77)


def test_the_same_seed_repeats_the_intervals_and_another_changes_them():
    table = synthetic_table()
    first, again, other = aggregate(table, seed=1), aggregate(table, seed=1), aggregate(table, seed=2)
    assert (first.iqm, first.mean) == (again.iqm, again.mean)
    assert np.array_equal(first.profile.lower, again.profile.lower)
    assert first.iqm.value == other.iqm.value  # the estimate itself is no draw
    assert (first.iqm.lower, first.iqm.upper) != (other.iqm.lower, other.iqm.upper)


def test_each_resample_draws_every_game_as_many_runs_as_it_has_from_its_own():
    run_counts = [5, 1, 3, 5]
    indices = stratified_indices(run_counts, 2000, np.random.default_rng(0))
    assert indices.shape == (2000, sum(run_counts))
    starts = np.cumsum([0, *run_counts[:-1]])
    for start, count in zip(starts, run_counts, strict=True):
        block = indices[:, start:start + count]
        assert block.min() == start and block.max() == start + count - 1  # its own runs, each drawn somewhere
        if count > 1:  # with replacement: some resamples draw a run twice
            assert any(len(set(row)) < count for row in block)


def test_the_profile_falls_from_every_run_to_none():
    for table in (synthetic_table(), [np.array([-12.5, 40.0]), np.array([0.0, 7.0, 99.0])]):
        profile = aggregate(table).profile
        assert profile.fraction_above[0] == 1 and profile.fraction_above[-1] == 0
        assert np.all(np.diff(profile.fraction_above) <= 0)
        assert np.all(np.diff(profile.thresholds) > 0)
        assert np.all((0 <= profile.lower) & (profile.lower <= profile.upper) & (profile.upper <= 1))


def test_the_profile_is_the_fraction_of_runs_above_each_landmark():
    table = synthetic_table()
    runs = np.concatenate(table)
    profile = aggregate(table).profile
    for mark in LANDMARKS:
        [index] = np.flatnonzero(profile.thresholds == mark)
        assert profile.fraction_above[index] == np.count_nonzero(runs > mark) / runs.size


def test_one_run_per_game_gives_estimates_without_intervals():
    aggregates = aggregate([[50.0], [120.0], [-4.0]])
    assert aggregates.iqm.value == pytest.approx(trim_mean([50.0, 120.0, -4.0], 0.25))
    assert aggregates.iqm.lower is None and aggregates.mean.upper is None
    assert aggregates.profile.lower is None and aggregates.games_with_one_run == 3


def test_games_without_human_scores_are_left_out_of_the_normalised_runs(hand_written_sweep):
    _, specs = hand_written_sweep
    table, left_out = normalised_runs(specs)
    assert list(table) == ["breakout", "pong", "seaquest"] and left_out == ["ALE/Boxing-v5"]
    assert [len(runs) for runs in table.values()] == [3, 3, 2]
    assert [score for runs in table.values() for score in runs] == pytest.approx(by_hand_normalised())


def test_the_summary_csv_keeps_its_rows_and_adds_iqm_and_mean_with_their_intervals(hand_written_sweep):
    folder, specs = hand_written_sweep
    write_summary(folder, specs)
    text = (folder / "summary.csv").read_text()
    assert text.startswith(SUMMARY_CSV_BEFORE)  # today's rows, the median row among them, byte for byte
    rows = {row["game"]: row for row in csv.DictReader(text.splitlines())}
    assert list(rows)[5:] == ["iqm", "iqm_95_low", "iqm_95_high", "mean", "mean_95_low", "mean_95_high"]
    normalised = by_hand_normalised()
    assert rows["iqm"]["runs"] == "8"
    assert float(rows["iqm"]["human_normalised_percent"]) == pytest.approx(trim_mean(normalised, 0.25), abs=1e-4)
    assert float(rows["mean"]["human_normalised_percent"]) == pytest.approx(np.mean(normalised), abs=1e-4)
    papers = [1327.2425, 132.0, 25.9409]  # the paper's one score per game, as the per-game rows give it
    assert float(rows["iqm"]["paper_human_normalised_percent"]) == pytest.approx(trim_mean(papers, 0.25), abs=1e-3)
    for name in ("iqm", "mean"):
        low, value, high = (float(rows[key]["human_normalised_percent"]) for key in
                            (f"{name}_95_low", name, f"{name}_95_high"))
        assert low < value < high


def test_the_summary_md_gives_the_iqm_its_interval_the_profile_and_what_it_left_out(hand_written_sweep):
    folder, specs = hand_written_sweep
    write_summary(folder, specs)
    markdown = (folder / "summary.md").read_text()
    assert "Median human-normalised score over 3 games: 65% (the paper, over the same games: 132%)." in markdown
    rows = {row["game"]: row for row in csv.DictReader((folder / "summary.csv").read_text().splitlines())}
    low, iqm, high = (round(float(rows[key]["human_normalised_percent"]))
                      for key in ("iqm_95_low", "iqm", "iqm_95_high"))
    assert f"| interquartile mean (IQM) | {iqm}% | {low}% to {high}% | 495% |" in markdown
    assert "scores of 8 runs of 3 games" in markdown and "10,000 resamples" in markdown
    assert "| above | 0% | 25% | 50% | 100% |" in markdown
    assert "| runs | 100% | 62% | 50% | 12% |" in markdown  # of the 8 runs: all, 5, 4 and 1 above
    assert "for want of human and random scores: ALE/Boxing-v5." in markdown


def test_a_sweep_of_one_seed_says_why_it_has_no_intervals(tmp_path):
    settings = {"games": ["breakout", "pong"], "seeds": [1], "train_options": [], "protocol": "nature",
                "evaluation_options": []}
    specs = plan_runs(tmp_path, settings)
    for spec, score in zip(specs, (20.0, 5.0), strict=True):
        (Path(spec.folder) / "evaluation").mkdir(parents=True)
        (Path(spec.folder) / "evaluation" / "summary.json").write_text(json.dumps({"mean": score}))
    write_summary(tmp_path, specs)
    markdown = (tmp_path / "summary.md").read_text()
    assert "No intervals: every game has one run" in markdown
    rows = {row["game"]: row for row in csv.DictReader((tmp_path / "summary.csv").read_text().splitlines())}
    assert rows["iqm"]["human_normalised_percent"] != "" and rows["iqm_95_low"]["human_normalised_percent"] == ""


def test_the_summary_picture_draws_the_profile_and_its_band_before_the_games(hand_written_sweep):
    _, specs = hand_written_sweep
    table, _ = normalised_runs(specs)
    aggregates = aggregate(list(table.values()))
    figure = summary_figure(specs, aggregates)
    profile_axes, *game_axes = figure.axes
    assert [axes.get_title() for axes in game_axes] == ["breakout", "pong", "seaquest", "ALE/Boxing-v5"]
    assert profile_axes.get_title() == "performance profile: 8 runs of 3 games"
    [curve] = [line for line in profile_axes.get_lines() if line.get_label().startswith("runs above")]
    assert np.array_equal(curve.get_xdata(), aggregates.profile.thresholds)
    assert np.array_equal(curve.get_ydata(), aggregates.profile.fraction_above)
    [band] = profile_axes.collections
    assert band.get_label() == "95% stratified bootstrap band"
