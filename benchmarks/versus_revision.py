"""The train phase's speed of this checkout against another git revision of it, run in turn on this machine.

    .venv/bin/python benchmarks/versus_revision.py REVISION [--pairs 5] [--num_envs 1] [--train_steps 4000]

Each pair runs the same short training run (same seed, same options) once with the revision's code and once
with this checkout's, in alternating order, both with this checkout's .venv.  Of each run's train phase it reads
the steps per second (its results CSV) and the milliseconds per agent step spent outside the network's update
(its time split): the update dominates the phase and varies most from run to run, the rest is the loop's own
work.  Prints every pair and the median ratios (this checkout / the revision): a slow spell of the machine hits
both runs of a pair alike.  Where the update's code is the same in both, a third ratio gives the speed each pair's
times outside the update make with the revision's update time in both: the update's time varies from process to
process far more than the loop's differ.  Nothing else should run meanwhile.
"""

import argparse
import csv
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECONDS = r"(-?\d+(?:\.\d+)?)"
SPLIT_LINE = re.compile(rf"time split: emulator {SECONDS} s, acting {SECONDS} s, update {SECONDS} s, "
                        rf"other {SECONDS} s of {SECONDS} s")


def train_speed(source: Path, folder: Path, options: list[str], steps: int) -> tuple[float, float]:
    """Steps per second of the train phase of one run of the package in ``source/src``, and its milliseconds per
    agent step outside the update."""
    csv_path = folder / "rows.csv"
    csv_path.unlink(missing_ok=True)
    command = [sys.executable, "-m", "simple_dqn", "breakout", *options, "--csv_file", str(csv_path)]
    done = subprocess.run(command, cwd=folder, env={**os.environ, "PYTHONPATH": str(source / "src")},
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"error: the run of {source} failed: {done.stderr.strip().splitlines()[-1]}")
    with csv_path.open() as file:
        speed = next(float(row["steps_per_second"]) for row in csv.DictReader(file) if row["phase"] == "train")
    train_split = SPLIT_LINE.findall(done.stderr)[1]  # the random phase's comes first
    update, total = float(train_split[2]), float(train_split[4])
    return speed, (total - update) / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revision", help="a git revision of this repository, such as HEAD~1 or a commit id")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--num_envs", type=int, default=1)
    parser.add_argument("--train_steps", type=int, default=4000)
    given = parser.parse_args()
    options = ["--random_steps", "2000", "--train_steps", str(given.train_steps), "--test_steps", "0", "--epochs",
               "1", "--replay_size", "100000", "--num_envs", str(given.num_envs), "--progress", "false",
               "--backend", "cpu", "--tensorboard", "false", "--random_seed", "1"]
    with tempfile.TemporaryDirectory() as scratch:
        old = Path(scratch) / "revision"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(old), given.revision],
                       check=True)
        try:
            speed_ratios, loop_ratios, same_update_ratios = [], [], []
            for pair in range(given.pairs):
                order = [(old, "revision"), (ROOT, "this")] if pair % 2 == 0 else [(ROOT, "this"), (old, "revision")]
                runs = {name: train_speed(source, Path(scratch), options, given.train_steps) for source, name in order}
                speed_ratios.append(runs["this"][0] / runs["revision"][0])
                loop_ratios.append(runs["this"][1] / runs["revision"][1])
                revision_step_ms = 1000 / runs["revision"][0]
                same_update_ratios.append(revision_step_ms / (revision_step_ms - runs["revision"][1] + runs["this"][1]))
                print(f"pair {pair + 1}: {given.revision} {runs['revision'][0]:.1f} steps/s "
                      f"({runs['revision'][1]:.3f} ms a step outside the update), this checkout "
                      f"{runs['this'][0]:.1f} steps/s ({runs['this'][1]:.3f} ms), ratios {speed_ratios[-1]:.3f}, "
                      f"{loop_ratios[-1]:.3f} and {same_update_ratios[-1]:.3f}", flush=True)
            for what, ratios in (("steps per second", speed_ratios), ("time a step outside the update", loop_ratios),
                                 ("steps per second with the revision's update time", same_update_ratios)):
                print(f"{what}, this checkout / {given.revision}, median over {given.pairs} pairs: "
                      f"{statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})")
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=True)


if __name__ == "__main__":
    main()
