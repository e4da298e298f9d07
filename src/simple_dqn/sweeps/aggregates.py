"""Aggregate scores over games and seeds as Agarwal et al. (2021), "Deep Reinforcement Learning at the Edge of
the Statistical Precipice", recommend: the interquartile mean (IQM) of every run's human-normalised score, 95%
stratified bootstrap intervals, and a performance profile, the fraction of runs that score above each threshold.

A table is one list of run scores per game, as long as that game's finished seeds (they may differ); every run
counts once, as in the paper's flattened games x seeds table. The interval answers "what if the same games were
run again with other seeds": each resample draws, within every game, as many runs as it has, with replacement.
A game with one run adds no spread, so a table whose games all have one run has no interval.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

# The paper's software (rliable) draws 50,000 resamples. 10,000 take under a second (2 CPU cores) for 57
# games by 10 seeds, and move the ends of an interval by under 1% of its width from one random seed to another,
# below what the plot or the rounded figures in summary.md can show.
RESAMPLES = 10_000
CONFIDENCE = 0.95
BOOTSTRAP_SEED = 0  # fixed, so the same runs always get the same summary
PROFILE_POINTS = 101
LANDMARKS = (0.0, 25.0, 50.0, 100.0, 200.0)  # human-normalised percent: random play is 0, human play 100

Statistic = Callable[[np.ndarray], np.ndarray]  # reduces the last axis: one figure per row of runs


@dataclass(frozen=True)
class Estimate:
    """A figure and its stratified bootstrap interval; no interval when no game has two runs."""
    value: float
    lower: float | None
    upper: float | None


@dataclass(frozen=True)
class Profile:
    """The fraction of runs above each threshold of human-normalised percent, with its bootstrap band."""
    thresholds: np.ndarray
    fraction_above: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None


@dataclass(frozen=True)
class Aggregates:
    games: int
    runs: int
    games_with_one_run: int
    iqm: Estimate
    mean: Estimate
    profile: Profile


def interquartile_mean(scores: np.ndarray) -> np.ndarray:
    """The mean of the middle half of the runs along the last axis (a 25% trimmed mean, as scipy's trim_mean
    cuts it: a quarter of the runs rounded down from each end): unlike the median it uses half of the runs, and
    unlike the mean one outlying game cannot carry it."""
    runs = scores.shape[-1]
    cut = runs // 4
    middle = np.partition(scores, (cut, runs - cut - 1), axis=-1)[..., cut:runs - cut]
    return np.asarray(np.mean(middle, axis=-1))


def mean(scores: np.ndarray) -> np.ndarray:
    return np.asarray(np.mean(scores, axis=-1))


def stratified_indices(run_counts: Sequence[int], resamples: int, generator: np.random.Generator) -> np.ndarray:
    """Indices into the flattened table, one row per resample: the columns of each game are that game's own
    runs drawn with replacement, so every resample keeps each game's number of runs."""
    counts = np.repeat(run_counts, run_counts)
    starts = np.repeat(np.cumsum([0, *run_counts[:-1]]), run_counts)
    return starts + generator.integers(0, counts, size=(resamples, len(counts)))


def interval(scores: np.ndarray, indices: np.ndarray, statistic: Statistic,
             confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The percentile interval of ``statistic`` over the resamples that ``indices`` draw from ``scores``."""
    tail = 100 * (1 - confidence) / 2
    lower, upper = np.percentile(statistic(scores[indices]), [tail, 100 - tail])
    return float(lower), float(upper)


def profile_thresholds(scores: np.ndarray, points: int = PROFILE_POINTS) -> np.ndarray:
    """Thresholds from random play (0%), or just below the worst run when one scored less, to human play (100%)
    or the best run, whichever is higher, so that the profile falls from every run to none; the landmarks in
    that range are always among them."""
    low = 0.0 if scores.min() > 0 else float(np.floor(scores.min())) - 1.0
    high = max(100.0, float(scores.max()))
    return np.union1d(np.linspace(low, high, points), [mark for mark in LANDMARKS if low <= mark <= high])


def fraction_above(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The fraction of runs scoring above each threshold (the paper's run-score distribution)."""
    return np.asarray(np.mean(scores[:, None] > thresholds, axis=0))


def profile_band(scores: np.ndarray, indices: np.ndarray, thresholds: np.ndarray,
                 confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise percentile band of the profile over the resamples. A resample's profile is how many times it
    drew each run times whether that run is above each threshold, so one product of matrices gives them all."""
    resamples, runs = indices.shape
    draws = np.bincount((indices + runs * np.arange(resamples)[:, None]).ravel(),
                        minlength=resamples * runs).reshape(resamples, runs)
    profiles = draws @ (scores[:, None] > thresholds).astype(float) / runs
    tail = 100 * (1 - confidence) / 2
    lower, upper = np.percentile(profiles, [tail, 100 - tail], axis=0)
    return lower, upper


def aggregate(table: Sequence[Sequence[float]], resamples: int = RESAMPLES, seed: int = BOOTSTRAP_SEED) -> Aggregates:
    """IQM, mean and performance profile of a table of human-normalised percent scores, one list per game."""
    run_counts = [len(game) for game in table]
    if not run_counts or min(run_counts) < 1:
        raise ValueError("every game needs at least one run")
    scores = np.concatenate([np.asarray(game, dtype=float) for game in table])
    thresholds = profile_thresholds(scores)
    profile = Profile(thresholds, fraction_above(scores, thresholds), None, None)
    if max(run_counts) == 1:
        return Aggregates(len(table), len(scores), len(table), Estimate(float(interquartile_mean(scores)), None, None),
                          Estimate(float(mean(scores)), None, None), profile)
    indices = stratified_indices(run_counts, resamples, np.random.default_rng(seed))
    iqm, average = (Estimate(float(statistic(scores)), *interval(scores, indices, statistic))
                    for statistic in (interquartile_mean, mean))
    lower, upper = profile_band(scores, indices, thresholds)
    return Aggregates(len(table), len(scores), run_counts.count(1), iqm, average,
                      replace(profile, lower=lower, upper=upper))
