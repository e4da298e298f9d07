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

import torch._dynamo  # noqa: F401  the first optimizer imports it, a second's work that would top the profile

from simple_dqn.main import main
from simple_dqn.runs.results_csv import read_csv_rows
from simple_dqn.settings import flags_set_by

DEFAULT_GAME = "pong"
PHASE_OPTIONS = {
    "random": ["--random_steps", "10000", "--train_steps", "0", "--test_steps", "0"],
    "test": ["--random_steps", "0", "--train_steps", "0", "--test_steps", "10000", "--exploration_rate_test", "0"],
    "train": ["--random_steps", "100", "--train_steps", "3000", "--test_steps", "0", "--train_frequency", "1",
              "--exploration_rate_start", "1", "--exploration_rate_end", "1", "--target_steps", "0"],
}
SHOWN_FUNCTIONS = 40


def profile_phase(phase: str, arguments: list[str]) -> int:
    """Profile ``phase``; ``arguments`` are an optional game, then main.py options that override the ones here."""
    game = arguments.pop(0) if arguments and not arguments[0].startswith("-") else DEFAULT_GAME
    refused = [option for option in flags_set_by("profile") if any(arg.split("=")[0] == option for arg in arguments)]
    if refused:
        print(f"error: {refused[0]} cannot be used here: the profile reads the phase's speed from a CSV of its own",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "profile.csv"
        argv = [game, *PHASE_OPTIONS[phase], "--epochs", "1", "--replay_size", "100000", "--random_seed", "1",
                "--progress", "false", *arguments, "--csv_file", str(csv_path)]
        profiler = cProfile.Profile()
        status = profiler.runcall(main, argv)
        if status:
            return status
        rows = [row for row in read_csv_rows(csv_path) if row["phase"] == phase] if csv_path.exists() else []
        if not rows:
            print(f"error: no {phase} phase ran (--{phase}_steps 0?)", file=sys.stderr)
            return 2
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(SHOWN_FUNCTIONS)
    row = rows[0]
    print(f"{phase}: {row['steps']} steps in {float(row['epoch_time']):.1f} s = "
          f"{float(row['steps_per_second']):.1f} steps per second (under cProfile, which slows Python code)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in PHASE_OPTIONS:
        print(f"usage: python -m simple_dqn.profiling {{{'|'.join(PHASE_OPTIONS)}}} [game] [main.py options]",
              file=sys.stderr)
        sys.exit(2)
    sys.exit(profile_phase(sys.argv[1], sys.argv[2:]))
