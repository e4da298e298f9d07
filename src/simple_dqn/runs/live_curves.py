"""Live curves: a training run's figures as TensorBoard events while it runs, and through them on Weights & Biases.

``Statistics`` tells its ``LiveCurves`` what it counts: each finished game, each update's loss, each phase's
CSV row.  The x-axis is the run's agent steps with every phase counted (random, train and test), so every
step has one place and a phase's figures sit at its last step (the CSV's ``total_train_steps`` counts
training steps alone).  Events are TensorBoard's append-only log, a checksum per record, so a record cut
short by a crash is skipped by every reader.  A resumed run first drops the events after its snapshot, as
it drops the CSV's rows, and starts its writer with ``purge_step`` there: TensorBoard's default data server
ignores ``purge_step`` (it drops a tag's later points only where that tag gets a new one), so the events
are trimmed on disk too, and no step appears twice.
"""

import logging
import math
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import torch
from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.summary.writer.record_writer import RecordWriter
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

from simple_dqn.files import remove_unfinished_writes, write_atomically
from simple_dqn.runs.results_csv import read_csv_rows
from simple_dqn.runs.run_files import live_curves_folder
from simple_dqn.runs.settings import LoopSettings
from simple_dqn.runs.tracking import Tracking, installed_wandb
from simple_dqn.wording import shown

log = logging.getLogger(__name__)
# Each loss point is the mean of this many updates: 125,000 points over the paper's 50M steps, 2,500 over the
# fast preset's 500k; one read from the device per 100 updates, so a GPU is not made to wait for each loss.
LOSS_UPDATES = 100
FLUSH_SECONDS = 30  # at the latest; every phase's end flushes too, before its snapshot is saved
EVENT_FILES = "events.out.tfevents.*"
EVENT_FILE_NAMES = r"events\.out\.tfevents\..+"
# A phase's figures, by their CSV columns; a figure the phase has not (no game finished, no update) is left out.
PHASE_FIGURES = ("nr_games", "average_reward", "min_game_reward", "max_game_reward", "meanq", "meancost",
                 "last_exploration_rate", "steps_per_second")
HEADLINE_METRIC = "test/average_reward"  # what TensorBoard's HParams view compares runs by


class LiveCurves:
    """The TensorBoard events of the run whose CSV is ``csv_path``: opened at its first phase, closed by ``close``.

    Points are at the run's agent steps: the steps of the CSV's rows before this process began, then its own.
    """

    def __init__(self, csv_path: Path, options: dict[str, Any], *, resumed: bool,
                 tracking: Tracking | None = None) -> None:
        """``options``: every option by name, the run's hyperparameters; ``resumed``: the run goes on from a
        snapshot (its events after that are dropped), else it begins (earlier events in its folder go)."""
        self.csv_path = csv_path
        self.folder = live_curves_folder(csv_path)
        self.options = options
        self.resumed = resumed
        self.tracking = tracking
        self._writer: SummaryWriter | None = None
        self._phase = ""
        self._steps_before_phase = 0
        self._loss_sum: torch.Tensor | None = None
        self._losses = 0

    def start_phase(self, phase: str, steps_done: int) -> None:
        """``steps_done``: what an earlier run did of this phase before it stopped in the middle."""
        if self._writer is None:
            self._steps_before_phase = sum(int(row["steps"]) for row in read_csv_rows(self.csv_path)) \
                if self.csv_path.exists() else 0
            self._open(self._steps_before_phase + steps_done)
        self._phase = phase
        self._loss_sum, self._losses = None, 0

    def _open(self, steps_done: int) -> None:
        """Clear what this run's folder holds past ``steps_done``, then write from there on."""
        self.folder.mkdir(parents=True, exist_ok=True)
        remove_unfinished_writes(self.folder, EVENT_FILE_NAMES)  # TensorBoard would read one as an event file
        first_step = steps_done + 1
        if self.resumed:
            dropped = trim_events(self.folder, first_step)
            if dropped:
                log.warning("dropped %d TensorBoard events after step %d from %s: they came from a run past this "
                            "snapshot", dropped, steps_done, self.folder)
        else:
            for path in self.folder.glob(EVENT_FILES):
                path.unlink()
        if self.tracking is not None:
            self.tracking.start(self.csv_path, self.options)  # before the writer opens: wandb follows it from then
        self._writer = SummaryWriter(str(self.folder), purge_step=first_step if self.resumed else None,
                                     flush_secs=FLUSH_SECONDS)
        experiment, session_start, _ = hparams(hyperparameters(self.options), dict.fromkeys([HEADLINE_METRIC]))
        events: Any = self._writer.file_writer  # set once the writer opens (torch declares it None)
        for summary in (experiment, session_start):
            events.add_summary(summary, steps_done)

    def game_over(self, phase_steps: int, score: float, frames: int) -> None:
        """A whole game ended at the phase's step ``phase_steps``: its score and its length in emulator frames."""
        if self._writer is not None:
            step = self._steps_before_phase + phase_steps
            self._writer.add_scalar(f"{self._phase}/game_reward", score, step)
            self._writer.add_scalar(f"{self._phase}/game_frames", frames, step)

    def update(self, phase_steps: int, loss: torch.Tensor) -> None:
        """An update's mean loss per transition, left on its device until ``LOSS_UPDATES`` of them are summed."""
        self._loss_sum = loss if self._loss_sum is None else self._loss_sum + loss
        self._losses += 1
        if self._losses == LOSS_UPDATES and self._writer is not None:
            self._writer.add_scalar(f"{self._phase}/loss", float(self._loss_sum) / self._losses,
                                    self._steps_before_phase + phase_steps)
            self._loss_sum, self._losses = None, 0

    def end_phase(self, row: dict[str, Any]) -> None:
        """The phase's CSV row, at its last step; flushed, so the snapshot that may follow finds it on disk."""
        self._steps_before_phase += row["steps"]
        if self._writer is None:
            return
        for figure in PHASE_FIGURES:
            if not math.isnan(row[figure]):
                self._writer.add_scalar(f"{row['phase']}/{figure}", row[figure], self._steps_before_phase)
        self._writer.flush()

    def flush(self) -> None:
        """A phase stopped in the middle: what it wrote goes to disk before the snapshot where it stopped."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self.tracking is not None:
            self.tracking.finish()


def hyperparameters(options: dict[str, Any]) -> dict[str, Any]:
    """The options as TensorBoard's HParams view takes them: true and false as the command line spells them (it
    would show 1 and 0), options not set left out."""
    return {name: shown(value) if isinstance(value, bool) else value for name, value in options.items()
            if value is not None}


def trim_events(folder: Path, first_step: int) -> int:
    """Drop the events at ``first_step`` and after from the event files in ``folder``, each file rewritten
    atomically (one left empty goes); how many were dropped."""
    dropped = 0
    for path in sorted(folder.glob(EVENT_FILES)):
        records = list(RawEventFileLoader(str(path)).Load())
        kept = [record for record in records if Event.FromString(record).step < first_step]
        if len(kept) == len(records):
            continue
        dropped += len(records) - len(kept)
        if any(Event.FromString(record).HasField("summary") for record in kept):
            write_atomically(path, partial(write_records, records=kept))
        else:
            path.unlink()
    return dropped


def write_records(file: BinaryIO, records: list[bytes]) -> None:
    writer = RecordWriter(file)
    for record in records:
        writer.write(record)


def live_curves_of_run(csv_path: Path | None, loop: LoopSettings, options: dict[str, Any],
                       resumed: bool) -> LiveCurves | None:
    """A training run's live curves as its options ask: none without a CSV or with ``--tensorboard false``."""
    if csv_path is None or not loop.tensorboard:
        if loop.track:
            log.warning("--track has nothing to mirror: a run without --csv_file writes no TensorBoard events")
        return None
    tracking = Tracking(installed_wandb(), loop.wandb_project, loop.wandb_entity) if loop.track else None
    return LiveCurves(csv_path, options, resumed=resumed, tracking=tracking)
