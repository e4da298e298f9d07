"""A trained agent to ship: the weights of a run's best snapshot, the one whose test phase scored highest.

``python -m simple_dqn.trained_agent RUN_PREFIX RUN.csv OUT.pkl [EPOCH]`` writes it (what
``benchmarks/ship_agent.sh`` runs for ``agents/``). A test phase of a few games can be carried by
one long game; EPOCH names the snapshot instead, chosen by a longer evaluation.
"""

import math
import sys
from pathlib import Path

from simple_dqn.errors import UsageError, exit_code_of
from simple_dqn.runs.checkpoint import load_snapshot, save_weights_only
from simple_dqn.runs.results_csv import read_csv_rows
from simple_dqn.runs.run_files import RunFiles
from simple_dqn.settings import file_options


def best_epoch(csv_path: Path, epochs: set[int]) -> tuple[int, float]:
    """The epoch among ``epochs`` whose test phase had the highest average game score, the earliest of equals."""
    scores = {int(row["epoch"]): float(row["average_reward"]) for row in read_csv_rows(csv_path)
              if row["phase"] == "test" and int(row["epoch"]) in epochs}
    measured = {epoch: score for epoch, score in scores.items() if not math.isnan(score)}
    if not measured:
        raise UsageError(f"{csv_path} has no test phase with a finished game for any snapshot of the run")
    epoch = max(sorted(measured), key=lambda each: measured[each])
    return epoch, measured[epoch]


def ship(run: RunFiles, csv_path: Path, output: Path, file_options: set[str], epoch: int | None = None) -> str:
    """Write the agent, of the snapshot of ``epoch`` or else of the best test phase; what to say of it."""
    if not csv_path.is_file():
        raise UsageError(f"{csv_path} does not exist: the run's CSV says which snapshot scored highest")
    snapshots = run.snapshots() if Path(run.prefix).parent.is_dir() else {}
    if not snapshots:
        raise UsageError(f"no snapshot {run.prefix}_<epoch>.pkl exists")
    if epoch is not None and epoch not in snapshots:
        raise UsageError(f"no snapshot {run.prefix}_{epoch}.pkl exists; the run has epochs "
                         f"{', '.join(map(str, sorted(snapshots)))}")
    epoch, score = best_epoch(csv_path, {epoch} if epoch is not None else set(snapshots))
    save_weights_only(load_snapshot(snapshots[epoch]), output, file_options)
    size = output.stat().st_size / 1e6
    return f"wrote {output} ({size:.1f} MB): the weights of {snapshots[epoch]}, test average {score:g}"


def main(arguments: list[str]) -> int:
    def answer() -> int:
        if len(arguments) not in (3, 4) or not all(map(str.isdigit, arguments[3:])):
            raise UsageError("usage: python -m simple_dqn.trained_agent RUN_PREFIX RUN.csv OUT.pkl [EPOCH]")
        epoch = int(arguments[3]) if len(arguments) == 4 else None
        print(ship(RunFiles(arguments[0]), Path(arguments[1]), Path(arguments[2]), file_options(), epoch))
        return 0
    return exit_code_of(answer, "stopped; nothing was written")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
