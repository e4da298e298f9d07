"""The peer's replay memory: Stable-Baselines3's ReplayBuffer of stacked 4x84x84 observations.

First it tries to create one of SIZE transitions, which a machine with less memory than
the buffer's largest array refuses at once; then it creates one of FILL transitions,
fills it with the recorded screens (stacked as VecFrameStack would) and measures how
resident memory grows, to project the full size from.  Run in a fresh process each.
Usage: memory_sb3.py CACHE_DIR SIZE FILL OPTIMIZE_MEMORY_USAGE(true|false)
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer

from bench_util import GAMES, emit, fail, load_frames, peak_rss_bytes, reset_peak_rss, rss_bytes

OBSERVATION_SPACE = spaces.Box(0, 255, (4, 84, 84), np.uint8)
ACTION_SPACE = spaces.Discrete(4)
ARRAYS = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")


def make_buffer(size: int, optimize: bool) -> ReplayBuffer:
    return ReplayBuffer(size, OBSERVATION_SPACE, ACTION_SPACE, device="cpu", optimize_memory_usage=optimize,
                        handle_timeout_termination=not optimize)


def try_full_size(size: int, optimize: bool) -> dict:
    """Creation time and resident memory added, or why the buffer could not be created."""
    before = rss_bytes()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            buffer = make_buffer(size, optimize)
        except MemoryError as error:
            return {"error": f"MemoryError: {error}", "warnings": [str(w.message) for w in caught]}
    seconds = time.perf_counter() - start
    added = rss_bytes() - before
    del buffer
    return {"create_seconds": seconds, "create_rss_added": added, "warnings": [str(w.message) for w in caught]}


def run(cache: Path, size: int, fill_count: int, optimize: bool) -> dict:
    screens, terminals = load_frames(cache, list(GAMES))
    full_size = try_full_size(size, optimize)
    reset_peak_rss()
    base_rss = rss_bytes()
    buffer = make_buffer(fill_count, optimize)
    created_rss = rss_bytes()
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 4, size=len(screens))
    rewards = rng.choice(np.array([0.0, 0.0, 0.0, 1.0], dtype=np.float32), size=len(screens))
    windows = len(screens) - 4  # frames[j:j+4] is an observation, frames[j+1:j+5] the next one
    for i in range(fill_count):
        j = i % windows
        buffer.add(screens[None, j:j + 4], screens[None, j + 1:j + 5], np.array([actions[j]]),
                   np.array([rewards[j]]), np.array([terminals[j + 4]]), [{}])
    peak = peak_rss_bytes()
    growth = (peak - created_rss) / fill_count
    return {
        "full_size": full_size,
        "base_rss": base_rss,
        "create_rss_added": created_rss - base_rss,
        "peak_rss": peak,
        "fill": fill_count,
        "growth_per_transition": growth,
        "projected_added": created_rss - base_rss + growth * size,
        "bytes_per_transition": sum(getattr(buffer, name).nbytes for name in ARRAYS if hasattr(buffer, name))
        / buffer.buffer_size,
    }


def main() -> None:
    if len(sys.argv) != 5 or sys.argv[4] not in ("true", "false"):
        fail("usage: memory_sb3.py CACHE_DIR SIZE FILL true|false")
    size, fill_count = int(sys.argv[2]), int(sys.argv[3])
    if not 0 < fill_count <= size:
        fail("FILL must be between 1 and SIZE")
    emit(run(Path(sys.argv[1]), size, fill_count, sys.argv[4] == "true"))


if __name__ == "__main__":
    main()
