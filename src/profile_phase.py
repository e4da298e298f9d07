"""Where one phase's time goes: main.py under cProfile, then that phase's speed.

Each phase isolates one cost, as the original's profile scripts did: ``random``
the emulator and preprocessing, ``test`` the network's prediction (never explore),
``train`` the learning update (always explore, so no prediction; one update per step).
"""

import cProfile
import pstats
import sys
import tempfile
from pathlib import Path

from main import main
from phase_statistics import read_csv_rows

GAME = "pong"
PHASE_OPTIONS = {
    "random": ["--random_steps", "10000", "--train_steps", "0", "--test_steps", "0"],
    "test": ["--random_steps", "0", "--train_steps", "0", "--test_steps", "10000", "--exploration_rate_test", "0"],
    "train": ["--random_steps", "100", "--train_steps", "3000", "--test_steps", "0", "--train_frequency", "1",
              "--exploration_rate_start", "1", "--exploration_rate_end", "1", "--target_steps", "0"],
}
SHOWN_FUNCTIONS = 40


def profile_phase(phase: str, extra_options: list[str]) -> int:
    """Profile ``phase`` on Pong; ``extra_options`` go to main.py and override the defaults here."""
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "profile.csv"
        argv = [GAME, *PHASE_OPTIONS[phase], "--epochs", "1", "--replay_size", "100000", "--random_seed", "1",
                "--progress", "false", "--csv_file", str(csv_path), *extra_options]
        profiler = cProfile.Profile()
        status = profiler.runcall(main, argv)
        if status:
            return status
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(SHOWN_FUNCTIONS)
        row = next(row for row in read_csv_rows(csv_path) if row["phase"] == phase)
    print(f"{phase}: {row['steps']} steps in {float(row['epoch_time']):.1f} s = "
          f"{float(row['steps_per_second']):.1f} steps per second (under cProfile, which slows Python code)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in PHASE_OPTIONS:
        print(f"usage: profile_phase.py {{{'|'.join(PHASE_OPTIONS)}}} [main.py options]", file=sys.stderr)
        sys.exit(2)
    sys.exit(profile_phase(sys.argv[1], sys.argv[2:]))
