"""The floor for the random phase: the least code that produces the same screens.

ale-py's ALEInterface directly, a uniform random action per agent step, frame skip 4,
grayscale of the last two frames only, their pixel-wise maximum, cv2.resize INTER_AREA
to 84x84, a new game at game over; with ``--noop-starts`` each new game begins with a
random number (1..30) of no-op frames, as the toolkit's random phase does.
Usage: bare_ale.py STEPS SEED [--noop-starts]
"""

import sys
import time
import warnings

import cv2
import numpy as np
from ale_py import ALEInterface, LoggerMode, roms

from bench_util import emit, fail

FRAME_SKIP = 4
MAX_NOOP_FRAMES = 30


def run(steps: int, seed: int, noop_starts: bool) -> float:
    """Agent steps per second over ``steps`` random steps of Breakout."""
    ALEInterface.setLoggerMode(LoggerMode.Error)
    ale = ALEInterface()
    ale.setInt("random_seed", seed)
    ale.setFloat("repeat_action_probability", 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ale.loadROM(roms.get_rom_path("breakout"))
    actions = ale.getMinimalActionSet()
    rng = np.random.default_rng(seed)
    frames = np.zeros((2, *ale.getScreenDims()), dtype=np.uint8)

    def step(action: object) -> None:
        for frame in range(FRAME_SKIP):
            ale.act(action)
            frames_left = FRAME_SKIP - frame - 1
            if frames_left < 2:
                ale.getScreenGrayscale(frames[frames_left])
            if ale.game_over():
                break

    def new_game() -> None:
        ale.reset_game()
        if noop_starts:
            for _ in range(rng.integers(1, MAX_NOOP_FRAMES + 1)):
                ale.act(actions[0])
            ale.getScreenGrayscale(frames[0])
            if ale.game_over():
                ale.reset_game()
            cv2.resize(np.maximum(frames[0], frames[1]), (84, 84), interpolation=cv2.INTER_AREA)

    start = time.perf_counter()
    new_game()
    for _ in range(steps):
        step(actions[rng.integers(len(actions))])
        cv2.resize(np.maximum(frames[0], frames[1]), (84, 84), interpolation=cv2.INTER_AREA)
        if ale.game_over():
            new_game()
    return steps / (time.perf_counter() - start)


def main() -> None:
    if len(sys.argv) not in (3, 4) or sys.argv[3:] not in ([], ["--noop-starts"]):
        fail("usage: bare_ale.py STEPS SEED [--noop-starts]")
    noop_starts = sys.argv[3:] == ["--noop-starts"]
    emit({"steps_per_second": run(int(sys.argv[1]), int(sys.argv[2]), noop_starts)})


if __name__ == "__main__":
    main()
