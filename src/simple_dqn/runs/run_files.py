"""Every name a run's files get, in one place, and the refusals that keep one run from overwriting another.

A run is named by its prefix, ``snapshots/breakout`` (``snapshots/<game>[_LABEL]`` from train.sh):
its snapshots are ``PREFIX_<epoch>.pkl``, its replay memory ``PREFIX.replay`` (kept for the newest
snapshot only) and, while one is saved, ``PREFIX.replay.new``.  Its CSV is named apart
(``results/<game>[_LABEL].csv`` from train.sh), as is whatever else a path option names; the CSV names the
run's TensorBoard folder (``live_curves_folder``) and the folder its Weights & Biases runs go in.

Run as ``python -m simple_dqn.runs.run_files``, it answers the shell scripts (see ``main``).
"""

import csv
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from simple_dqn.errors import UsageError, exit_code_of
from simple_dqn.files import ensure_writable_folder, remove_unfinished_writes
from simple_dqn.runs.results_csv import PHASE_ORDER, keep_rows_before, read_csv_rows

log = logging.getLogger(__name__)
SNAPSHOT_NAME = re.compile(r"(?P<prefix>.*)_(?P<epoch>\d+)\.pkl")
LABEL = re.compile(r"[A-Za-z0-9_.-]+")


def fill(template: str, **values: object) -> str:
    """``template`` with each ``{name}`` replaced by its value: ``{game}`` by the game's name, say."""
    for name, value in values.items():
        template = template.replace(f"{{{name}}}", str(value))
    return template


def train_outputs(label: str | None) -> tuple[str, str]:
    """train.sh's snapshot prefix and CSV file for a run of that label: what ``{game}`` becomes is known later."""
    if label is not None and not LABEL.fullmatch(label):
        raise UsageError(f"label '{label}' may hold only letters, digits, '_', '-' and '.'")
    name = "{game}" if label is None else f"{{game}}_{label}"
    return f"snapshots/{name}", f"results/{name}.csv"


@dataclass(frozen=True)
class RunFiles:
    """The files of the run named ``prefix``."""

    prefix: str

    @classmethod
    def of_snapshot(cls, snapshot: str | Path) -> "RunFiles":
        """``snapshots/breakout_3.pkl`` -> the run ``snapshots/breakout``."""
        match = SNAPSHOT_NAME.fullmatch(str(snapshot))
        return cls(match["prefix"] if match else str(snapshot))

    def snapshot(self, epoch: int) -> Path:
        return Path(f"{self.prefix}_{epoch}.pkl")

    @property
    def replay(self) -> Path:
        return Path(f"{self.prefix}.replay")

    @property
    def pending_replay(self) -> Path:
        """The replay memory being saved with the next snapshot; put in place of ``replay`` once that is saved."""
        return Path(f"{self.prefix}.replay.new")

    def snapshots(self) -> dict[int, Path]:
        """Each epoch's snapshot that exists: exactly this run's name and a number, no other run's label."""
        folder, name = Path(self.prefix).parent, Path(self.prefix).name
        matches = (SNAPSHOT_NAME.fullmatch(path.name) for path in folder.glob("*.pkl"))
        return {int(match["epoch"]): folder / match[0] for match in matches if match and match["prefix"] == name}

    def newest_snapshot(self, after_epoch: int = -1) -> Path | None:
        """The newest snapshot of an epoch after ``after_epoch`` that exists, if any."""
        later = {epoch: path for epoch, path in self.snapshots().items() if epoch > after_epoch}
        return later[max(later)] if later else None

    def remove_unfinished_writes(self) -> int:
        """The temporary files a run killed while writing left, and a replay memory never put in place; how many."""
        folder, name = Path(self.prefix).parent, re.escape(Path(self.prefix).name)
        removed = remove_unfinished_writes(folder, rf"{name}_\d+\.pkl") + \
            remove_unfinished_writes(folder, rf"{name}\.replay(\.new)?")
        if self.pending_replay.exists():
            self.pending_replay.unlink()
            removed += 1
        return removed


def newest_snapshot(prefix: str) -> Path | None:
    return RunFiles(prefix).newest_snapshot()


def output_paths(csv_template: str | None, prefix_template: str | None,
                 game: str) -> tuple[Path | None, RunFiles | None]:
    """The CSV file and the run's files with ``{game}`` filled in, their folders checked for writing."""
    csv_path = Path(fill(csv_template, game=game)) if csv_template else None
    run = RunFiles(fill(prefix_template, game=game)) if prefix_template else None
    if csv_path:
        ensure_writable_folder(csv_path.parent, "results")
    if run:
        ensure_writable_folder(Path(run.prefix).parent, "snapshots")
    return csv_path, run


def live_curves_folder(csv_path: Path) -> Path:
    """``results/breakout.csv`` -> ``results/tensorboard/breakout/``: every run beside that CSV under one
    ``--logdir``, each by its name, and a sweep's run (``results/SWEEP/breakout_s1/breakout.csv``) in its own
    folder too."""
    return csv_path.parent / "tensorboard" / csv_path.stem


def tracking_folder(csv_path: Path) -> Path:
    """Where Weights & Biases keeps the runs of the run whose CSV this is: its ``wandb/`` goes in the CSV's folder."""
    return csv_path.parent


def output_file(template: str | None, game: str, what: str) -> Path | None:
    """``template`` with ``{game}`` filled in, its folder checked for writing."""
    if not template:
        return None
    path = Path(fill(template, game=game))
    if path.is_dir():
        raise UsageError(f"the {what} file {path} is a folder: name a file in it, such as {path / (game + '.html')}")
    ensure_writable_folder(path.parent, what)
    return path


def output_folder(template: str | None, what: str, **values: object) -> Path | None:
    """``template`` with ``values`` filled in, checked for writing."""
    if not template:
        return None
    folder = Path(fill(template, **values))
    ensure_writable_folder(folder, what)
    return folder


def check_results_file(csv_path: Path | None) -> None:
    """A resumed run appends to its CSV, a new one replaces it: either way it must be one of ours."""
    if csv_path and csv_path.exists():
        try:
            rows = read_csv_rows(csv_path)
            if any(row["phase"] not in PHASE_ORDER for row in rows):
                raise ValueError("a phase that is not random, train or test")
            [int(row["epoch"]) for row in rows]
        except (KeyError, ValueError, TypeError, csv.Error, UnicodeDecodeError):
            raise UsageError(f"{csv_path} is not a results CSV of simple_dqn: move it away, or write elsewhere "
                             "with --csv_file") from None


def refuse_to_overwrite(run: RunFiles | None, csv_path: Path | None) -> None:
    """A new run must not replace the snapshots of an earlier one (a CSV that no snapshot continues may go)."""
    newest = run.newest_snapshot(0) if run else None
    if newest:
        raise UsageError(f"{newest} and {csv_path or 'its results'} hold an earlier run: continue it with "
                         f"./resume.sh {newest}, name this run differently (./train.sh GAME LABEL), or move them away")


def refuse_to_overwrite_later_snapshots(run: RunFiles | None, epoch: int, resumed: str) -> None:
    """Resuming from an older snapshot would replace the newer ones as it goes: say so instead."""
    newest = run.newest_snapshot(epoch) if run else None
    if newest:
        raise UsageError(f"{newest} is newer than {resumed} and resuming would overwrite it: resume from "
                         f"./resume.sh {newest}, or move the snapshots after epoch {epoch} away to start over from it")


def remove_unfinished_writes_of_run(csv_path: Path | None, run: RunFiles | None) -> None:
    """A run killed while writing leaves temporary files: this run's own are removed, never another run's."""
    removed = remove_unfinished_writes(csv_path.parent, re.escape(csv_path.name)) if csv_path else 0
    removed += run.remove_unfinished_writes() if run else 0
    if removed:
        log.warning("removed %d files that a run killed while writing left unfinished", removed)


def trim_results(csv_path: Path | None, epoch: int, phase: str) -> None:
    """A resumed run drops the rows from where it goes on: it writes them again."""
    if csv_path and csv_path.exists():
        dropped = keep_rows_before(csv_path, epoch, phase)
        if dropped:
            log.warning("dropped %d rows from epoch %d %s on from %s: they came from a run past this snapshot",
                        dropped, epoch, phase, csv_path)


def snapshot_argument(argument: str) -> str:
    """The snapshot a script is given: a file, an exported agent's folder, or a run's name (``snapshots/breakout``)
    for its newest snapshot.  (``hf://USER/NAME`` is fetched before, by ``sharing/hub.py``.)"""
    if Path(argument).exists():
        return argument
    newest = newest_snapshot(argument)
    if newest is None:
        raise UsageError(f"snapshot {argument} does not exist (a file that ./train.sh wrote, such as "
                         "snapshots/breakout_3.pkl, a run's name, such as snapshots/breakout, for its newest "
                         "snapshot, a folder that ./export.sh wrote, or hf://USER/NAME on the Hugging Face Hub)")
    return str(newest)


def main(arguments: list[str]) -> int:
    """``snapshot ARGUMENT``: the snapshot a script is given; ``train [LABEL]``: train.sh's output options."""
    def answer() -> int:
        if arguments[:1] == ["snapshot"] and len(arguments) == 2:
            print(snapshot_argument(arguments[1]))
        elif arguments[:1] == ["train"] and len(arguments) <= 2:
            prefix, csv_file = train_outputs(arguments[1] if len(arguments) == 2 else None)
            print("--save_weights_prefix", prefix, "--csv_file", csv_file, sep="\n")
        else:
            raise UsageError("usage: python -m simple_dqn.runs.run_files snapshot ARGUMENT | train [LABEL]")
        return 0
    return exit_code_of(answer, "stopped")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
