"""The sweep summary's aggregates beside rliable's (Agarwal et al. 2021) on the same synthetic games x seeds table.

rliable is not one of the toolkit's requirements: give it a venv of its own (with pandas before 3, which the arch
7.2 that rliable installs cannot import), then run this with the toolkit's src/ on the path.

    python3 -m venv /tmp/rliable-venv && /tmp/rliable-venv/bin/pip install rliable==1.2.0 "pandas<3"
    PYTHONPATH=src /tmp/rliable-venv/bin/python benchmarks/rliable_check.py

The point estimates must agree exactly. The intervals come from other random draws (and rliable's 50,000
resamples against our 10,000), so their ends must agree within 3% of the interval's width, and the profile's band
within one run's share at any threshold. Exit code 1 when they do not.
"""

import sys

import numpy as np
from rliable import library, metrics

from simple_dqn.sweeps.aggregates import RESAMPLES, aggregate

GAMES, SEEDS = 10, 5


def synthetic_table() -> np.ndarray:
    """Human-normalised percent scores, seeds x games: a typical level per game and a skewed spread over seeds."""
    generator = np.random.default_rng(2021)
    levels = generator.uniform(-5, 250, size=GAMES)
    return levels + generator.gamma(2.0, 15.0, size=(SEEDS, GAMES)) - 30.0


def main() -> int:
    table = synthetic_table()
    ours = aggregate([table[:, game] for game in range(GAMES)])
    np.random.seed(0)  # rliable draws from numpy's global generator
    points, intervals = library.get_interval_estimates(
        {"run": table}, lambda scores: np.array([metrics.aggregate_iqm(scores), metrics.aggregate_mean(scores)]))
    theirs_profile, theirs_band = library.create_performance_profile({"run": table}, ours.profile.thresholds)
    width = ours.iqm.upper - ours.iqm.lower
    print(f"{GAMES} games x {SEEDS} seeds; ours {RESAMPLES:,} resamples, rliable 50,000 (its default)")
    print(f"{'':8} {'ours':>28} {'rliable':>28}")
    failures = []
    for index, (name, estimate) in enumerate((("IQM", ours.iqm), ("mean", ours.mean))):
        lower, upper = intervals["run"][:, index]
        print(f"{name:8} {estimate.value:8.2f} [{estimate.lower:7.2f}, {estimate.upper:7.2f}]"
              f" {points['run'][index]:8.2f} [{lower:7.2f}, {upper:7.2f}]")
        if not np.isclose(estimate.value, points["run"][index], rtol=1e-12):
            failures.append(f"{name} point estimates differ")
        if max(abs(estimate.lower - lower), abs(estimate.upper - upper)) > 0.03 * width:
            failures.append(f"{name} intervals differ by more than 3% of the IQM interval's width")
    profile_gap = np.abs(ours.profile.fraction_above - theirs_profile["run"]).max()
    band_gap = max(np.abs(ours.profile.lower - theirs_band["run"][0]).max(),
                   np.abs(ours.profile.upper - theirs_band["run"][1]).max())
    mean_band_gap = (np.abs(ours.profile.lower - theirs_band["run"][0]).mean()
                     + np.abs(ours.profile.upper - theirs_band["run"][1]).mean()) / 2
    print(f"profile at {len(ours.profile.thresholds)} thresholds: largest difference {profile_gap:.4f}; band ends: "
          f"largest {band_gap:.4f}, mean {mean_band_gap:.4f} (one run is {1 / table.size:.4f})")
    if profile_gap > 1e-12:
        failures.append("the profiles differ")
    if band_gap > 1 / table.size + 1e-9:
        failures.append("the profiles' bands differ by more than one run")
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
