"""Saving and loading a full replay memory, against numpy's own np.save and np.load of its screens.

Usage: .venv/bin/python benchmarks/replay_file_speed.py [SIZE] [FOLDER]   (SIZE 1000000, FOLDER snapshots/)
Writes two files of about 7 GB for the default size and removes them; run with nothing else busy.
"""

import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from simple_dqn.dqn.replay_memory import ReplayMemory  # noqa: E402
from simple_dqn.runs.replay_file import load_replay, save_replay  # noqa: E402


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> int:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    folder = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parent.parent / "snapshots"
    memory = ReplayMemory(size, seed=0)
    screen = np.random.default_rng(0).integers(0, 256, (84, 84), dtype=np.uint8)
    for index in range(size):
        memory.add(screen, index % 4, 0.0, index % 1000 == 999)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        ours, theirs = Path(scratch) / "run.replay", Path(scratch) / "screens.npy"
        save_ours = timed(lambda: save_replay(ours, memory, "benchmark", 1))
        save_numpy = timed(lambda: np.save(theirs, memory.screens.screens))
        before = peak_rss_gb()
        load_ours = timed(lambda: load_replay(ours, memory, "benchmark", 1))
        ours_extra = peak_rss_gb() - before
        before = peak_rss_gb()
        load_numpy = timed(lambda: np.load(theirs))
        numpy_extra = peak_rss_gb() - before
        gigabytes = ours.stat().st_size / 1e9
    print(f"replay memory of {size:,} transitions, file {gigabytes:.2f} GB")
    print(f"save: {save_ours:.1f} s, np.save of its screens {save_numpy:.1f} s, ratio {save_ours / save_numpy:.2f}")
    print(f"load: {load_ours:.1f} s, np.load of its screens {load_numpy:.1f} s, ratio {load_ours / load_numpy:.2f}")
    print(f"peak memory added by loading: {ours_extra:.2f} GB, by np.load {numpy_extra:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
