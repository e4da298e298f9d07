"""Record real preprocessed screens once, so the memory benchmarks fill replay with game images.

Compression depends on what the screens show, so zeros or noise would mislead: this plays
each game with a uniform random policy through the toolkit's own ``ALEEnvironment`` and
saves the 84x84 screens and terminal flags as .npy files in the cache folder.
Usage: record_frames.py CACHE_DIR FRAMES_PER_GAME [GAME ...]
"""

import sys
from pathlib import Path

import numpy as np

from bench_util import GAMES, fail, frame_paths

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from simple_dqn.dqn.environment import ALEEnvironment  # noqa: E402
from simple_dqn.dqn.settings import EnvironmentSettings  # noqa: E402


def record(game: str, frames: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``frames`` screens of random play (each the screen an action was chosen on) and terminal flags."""
    environment = ALEEnvironment(EnvironmentSettings(game=game), seed=seed, random_starts=0)
    rng = np.random.default_rng(seed)
    screens = np.empty((frames, 84, 84), dtype=np.uint8)
    terminals = np.zeros(frames, dtype=bool)
    environment.new_games()
    for i in range(frames):
        screens[i] = environment.states()[0, -1]
        environment.send(rng.integers(environment.num_actions(), size=1))
        step = environment.receive()
        terminals[i] = step.terminals[0]
        environment.begin_next(step)
    terminals[-1] = True
    return screens, terminals


def main() -> None:
    if len(sys.argv) < 3:
        fail("usage: record_frames.py CACHE_DIR FRAMES_PER_GAME [GAME ...]")
    cache, frames = Path(sys.argv[1]), int(sys.argv[2])
    cache.mkdir(parents=True, exist_ok=True)
    for game in sys.argv[3:] or GAMES:
        screens_path, terminals_path = frame_paths(cache, game)
        if screens_path.is_file() and terminals_path.is_file() and len(np.load(terminals_path)) == frames:
            continue
        screens, terminals = record(game, frames)
        np.save(screens_path, screens)
        np.save(terminals_path, terminals)
        print(f"recorded {frames} screens of {game} ({terminals.sum()} episode ends) in {screens_path}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
