"""The toolkit's replay memory: creation, peak memory when full, and minibatch sampling against a copy floor.

Run in a fresh process per measurement, so the peak resident memory is this memory's alone.
Usage:
  memory_ours.py full CACHE_DIR SIZE COMPRESS MINIBATCH_CALLS
      create a SIZE memory, fill it to SIZE with the recorded screens of all games,
      then time get_minibatch() and the plain copy of as many bytes
  memory_ours.py per-game CACHE_DIR FILL
      compressed bytes per transition of each game, filled separately with FILL transitions
"""

import itertools
import sys
import time
from pathlib import Path

import numpy as np

from bench_util import GAMES, emit, fail, load_frames, median_seconds, peak_rss_bytes, reset_peak_rss, rss_bytes

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from simple_dqn.dqn.allocator import keep_freed_memory  # noqa: E402
from simple_dqn.dqn.replay_memory import ReplayMemory, bytes_per_transition  # noqa: E402

SCREEN_SHAPE = (84, 84)


def fill(memory: ReplayMemory, screens: np.ndarray, terminals: np.ndarray, count: int) -> None:
    """Add ``count`` transitions, cycling through the recorded screens with random actions and rewards."""
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 4, size=len(screens))
    rewards = rng.choice(np.array([0.0, 0.0, 0.0, 1.0]), size=len(screens))
    for i in range(count):
        j = i % len(screens)
        memory.add(screens[j], int(actions[j]), float(rewards[j]), bool(terminals[j]))


def copy_source(memory: ReplayMemory, screens: np.ndarray) -> tuple[np.ndarray, bool]:
    """The memory's own screen array, flat, when it keeps a plain one; else a separate array of the same frames."""
    own = getattr(memory.screens, "screens", None)
    if isinstance(own, np.ndarray) and own.dtype == np.uint8:
        return own.reshape(-1), True
    separate = np.empty((memory.size, *SCREEN_SHAPE), dtype=np.uint8)
    for start in range(0, memory.size, len(screens)):
        part = separate[start:start + len(screens)]
        part[:] = screens[:len(part)]
    return separate.reshape(-1), False


def full(cache: Path, size: int, compress: bool, minibatch_calls: int) -> dict:
    """Creation, memory when full, then minibatch and copy times; the peak is read before the copy floor's array."""
    screens, terminals = load_frames(cache, list(GAMES))
    reset_peak_rss()
    base_rss = rss_bytes()
    start = time.perf_counter()
    memory = ReplayMemory(size, SCREEN_SHAPE, seed=0, compress=compress)
    create_seconds = time.perf_counter() - start
    created_rss = rss_bytes()
    fill(memory, screens, terminals, size)
    result = {
        "create_seconds": create_seconds,
        "base_rss": base_rss,
        "create_rss_added": created_rss - base_rss,
        "peak_rss": peak_rss_bytes(),
        "nbytes": memory.nbytes,
        "count": memory.count,
        "bytes_per_transition": memory.nbytes / memory.count if compress else bytes_per_transition(SCREEN_SHAPE),
    }
    batch = memory.get_minibatch()
    result["minibatch_seconds"] = median_seconds(memory.get_minibatch, minibatch_calls)
    # The screens a minibatch gathers: its states are views of history + 1 screens per transition.
    batch_size, history = batch.prestates.shape[:2]
    result["minibatch_bytes"] = batch_size * (history + 1) * batch.prestates[0, 0].nbytes

    source, own = copy_source(memory, screens)
    destination = np.empty(result["minibatch_bytes"], dtype=np.uint8)
    rng = np.random.default_rng(0)
    positions = itertools.cycle(rng.integers(0, source.size - destination.size, size=1000).tolist())
    result["copy_seconds"] = median_seconds(
        lambda: np.copyto(destination, source[next(positions):][:destination.size]), minibatch_calls)
    result["copy_from_own_screens"] = own
    return result


def per_game(cache: Path, fill_count: int) -> dict:
    """Compressed bytes per transition of each game alone: how well a game's screens compress differs."""
    ratios = {}
    for game in GAMES:
        screens, terminals = load_frames(cache, [game])
        memory = ReplayMemory(fill_count, SCREEN_SHAPE, seed=0, compress=True)
        fill(memory, screens, terminals, fill_count)
        ratios[game] = memory.nbytes / memory.count
    return {"bytes_per_transition": ratios}


def main() -> None:
    keep_freed_memory()  # as the toolkit does
    args = sys.argv[1:]
    if len(args) == 5 and args[0] == "full":
        emit(full(Path(args[1]), int(args[2]), args[3] == "true", int(args[4])))
    elif len(args) == 3 and args[0] == "per-game":
        emit(per_game(Path(args[1]), int(args[2])))
    else:
        fail("usage: memory_ours.py full CACHE_DIR SIZE true|false MINIBATCH_CALLS | per-game CACHE_DIR FILL")


if __name__ == "__main__":
    main()
