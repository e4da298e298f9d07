"""The benchmarks' own helpers, which the suite does not otherwise run: they must keep up with the package."""

import subprocess
import sys

import numpy as np

from conftest import ROOT


def test_record_frames_caches_the_screens_a_random_player_acted_on_and_its_episode_ends(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "record_frames.py"), str(tmp_path), "400",
                           "breakout"], cwd=ROOT / "benchmarks", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    screens, terminals = np.load(tmp_path / "breakout_screens.npy"), np.load(tmp_path / "breakout_terminals.npy")
    assert screens.shape == (400, 84, 84) and screens.dtype == np.uint8 and screens[-1].any()
    assert terminals[-1] and 2 <= terminals.sum() < 50  # lives lost by random play, and the cache's last entry
