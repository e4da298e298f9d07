"""Helpers the measuring scripts share; they run in both venvs, so they need only numpy."""

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import numpy as np

GAMES = ("breakout", "pong", "seaquest", "space_invaders")


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def rss_bytes() -> int:
    """Resident memory of this process now."""
    return _status_kib("VmRSS") * 1024


def peak_rss_bytes() -> int:
    """The most resident memory this process has had (the kernel's high-water mark)."""
    return _status_kib("VmHWM") * 1024


def reset_peak_rss() -> None:
    """Restart the high-water mark from the current RSS, so what came before (loading the screens) is not counted."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError as error:
        fail(f"cannot reset the peak resident memory (/proc/self/clear_refs): {error}")


def frame_paths(cache: Path, game: str) -> tuple[Path, Path]:
    return cache / f"{game}_screens.npy", cache / f"{game}_terminals.npy"


def load_frames(cache: Path, games: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The recorded screens and terminal flags of ``games``, one after another.

    Each game's recording ends with a terminal flag, so cycling through them never
    joins two games into one episode.
    """
    paths = [frame_paths(cache, game) for game in games]
    for game, (screens_path, terminals_path) in zip(games, paths, strict=True):
        if not screens_path.is_file() or not terminals_path.is_file():
            fail(f"no recorded screens for {game} in {cache}: run benchmarks/record_frames.py first")
    terminals = np.concatenate([np.load(terminals_path) for _, terminals_path in paths])
    screens = np.empty((len(terminals), 84, 84), dtype=np.uint8)
    start = 0
    for screens_path, _ in paths:
        part = np.load(screens_path, mmap_mode="r")
        screens[start:start + len(part)] = part
        start += len(part)
    return screens, terminals


def median_seconds(call: Callable[[], object], calls: int) -> float:
    """Median wall time of ``calls`` separate calls, after a few warm-up calls."""
    for _ in range(min(10, calls)):
        call()
    times = np.empty(calls)
    for i in range(calls):
        start = time.perf_counter()
        call()
        times[i] = time.perf_counter() - start
    return float(np.median(times))


def emit(result: dict) -> None:
    """The script's result: one JSON line on stdout, which the harness reads."""
    print(json.dumps(result), flush=True)


def fail(message: str) -> NoReturn:
    """An expected failure: one line on stderr, no traceback."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)
