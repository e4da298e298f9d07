"""The phase runner: random, then train and test for each epoch, a CSV row per phase and a snapshot per epoch.

Ctrl-C or SIGTERM (``stopping.py``) ends the phase at the next step; the runner then saves a snapshot
where the run stopped, so ``./resume.sh`` finishes that very phase, game and all, and the run gives the
rows of one never stopped.
"""

import logging
from pathlib import Path

import numpy as np
import psutil

from simple_dqn.dqn.phase_loop import play_phase
from simple_dqn.dqn.replay_memory import ReplayMemory
from simple_dqn.dqn.settings import ReplaySettings
from simple_dqn.runs.checkpoint import Snapshot, StoppedPhase, restore, save_checkpoint
from simple_dqn.runs.composition import Parts
from simple_dqn.runs.results_csv import PHASE_ORDER
from simple_dqn.runs.run_files import RunFiles
from simple_dqn.runs.settings import LoopSettings
from simple_dqn.runs.statistics import Statistics
from simple_dqn.stopping import StopRequest
from simple_dqn.wording import counted

log = logging.getLogger(__name__)
MEANQ_CHUNK = 256  # validation states valued per forward pass


class PhaseRunner:
    """Runs the phases in order and writes what each one produces: CSV rows and snapshots."""

    def __init__(self, parts: Parts, loop: LoopSettings, replay: ReplaySettings, options: dict, run: RunFiles | None,
                 stop: StopRequest) -> None:
        """``options``: every option by name, kept in the snapshots; ``run``: where snapshots go, if anywhere."""
        self.parts = parts
        self.loop = loop
        self.replay = replay
        self.options = options
        self.run = run
        self.stop = stop
        self.validation_states: np.ndarray | None = None
        self.epoch = 0
        self.phase = ""
        self.last_snapshot: Path | None = None
        self.saving: Path | None = None  # the snapshot being written, while it is
        self.saved_on_stop = False

    def restore(self, snapshot: Snapshot, resume: bool) -> None:
        """The weights to test or play; to resume, everything a snapshot keeps of the training run."""
        self.validation_states = restore(snapshot, self.parts, resume=resume,
                                         allow_empty_replay=self.replay.allow_empty_replay)
        if resume:
            self.last_snapshot = snapshot.path

    def plan(self) -> list[tuple[int, str, int]]:
        """Every phase of the run in order: (epoch, phase, steps)."""
        loop = self.loop
        phases = [(0, "random", loop.random_steps)]
        for epoch in range(1, loop.epochs + 1):
            phases += [(epoch, "train", loop.train_steps), (epoch, "test", loop.test_steps)]
        return [phase for phase in phases if phase[2] > 0]

    def train_and_test(self, resume_point: tuple[int, str] | None, stopped: StoppedPhase | None) -> None:
        """The phases of the plan from ``resume_point`` on, a snapshot at each epoch's end and where a stop request
        ends one; ``stopped``: the phase a resumed run finishes first, as it was when the run stopped."""
        plan = self.plan()
        start = 0 if resume_point is None else next(
            (index for index, (epoch, phase, _) in enumerate(plan)
             if (epoch, PHASE_ORDER.index(phase)) >= (resume_point[0], PHASE_ORDER.index(resume_point[1]))), len(plan))
        saves = bool(self.run and self.loop.train_steps)
        for index in range(start, len(plan)):
            epoch, phase, steps = plan[index]
            row = self._phase(epoch, phase, steps, stopped if index == start else None)
            if row is None:  # stopped inside the phase: saved where it stopped, to finish the phase on resuming
                if saves:
                    self._save(epoch, StoppedPhase(phase, self.parts.statistics.steps,
                                                   self.parts.statistics.phase_so_far(),
                                                   self.parts.games.episode_state()))
                    self.saved_on_stop = True
                return
            if phase == "random" and self.parts.memory is not None and self.replay.replay_compress:
                report_compressed_memory(self.parts.memory)
            saved = saves and epoch > 0 and (index + 1 == len(plan) or plan[index + 1][0] != epoch)
            if saved:
                self._save(epoch)  # at the epoch's end, so a resumed run goes on from the very same state
            if self.stop.requested:  # between two phases: the next one begins on resuming, nothing lost
                if saves and not saved and index + 1 < len(plan):  # the random phase's end among them
                    following_epoch, following = plan[index + 1][:2]
                    self._save(following_epoch, StoppedPhase(following, 0, Statistics.nothing_counted()))
                self.saved_on_stop = saves
                return

    def test_only(self, epoch: int) -> None:
        """One test phase, labelled with the epoch of the snapshot it tests; prints the scores."""
        row = self._phase(epoch, "test", self.loop.test_steps)
        if row is not None:
            print(test_result_line(row))

    def play(self) -> None:
        """Whole games, ``--play_games`` of them."""
        self._phase(0, "play", None)

    def _phase(self, epoch: int, phase: str, steps: int | None, stopped: StoppedPhase | None = None) -> dict | None:
        """Play a phase, or the rest of one an earlier run stopped in the middle of; its CSV row.  ``steps`` is
        None for a play phase, which counts games instead."""
        parts, statistics = self.parts, self.parts.statistics
        self.epoch, self.phase = epoch, phase
        statistics.start_phase(epoch, phase, steps, so_far=stopped.statistics if stopped else None)
        episode = stopped.episode if stopped else None
        if episode is not None:
            parts.games.continue_episodes(episode)
        steps_left = None if steps is None else steps - (stopped.steps_done if stopped else 0)
        play_phase(parts.games, parts.agent, statistics, self.stop, phase, steps=steps_left,
                   whole_games=self.loop.play_games if steps is None else None, new_games=episode is None)
        if self.stop.requested:
            statistics.abandon_phase()
            return None
        return statistics.end_phase(
            exploration_rate=parts.agent.last_exploration_rate,
            total_train_steps=parts.agent.total_train_steps,
            replay_memory_count=parts.memory.count if parts.memory else 0,
            weight_updates=parts.agent.weight_updates,
            meanq=self._meanq,
        )

    def _meanq(self) -> float:
        """The average max Q-value over distinct validation states, drawn once from replay memory."""
        memory = self.parts.memory
        if self.validation_states is None:
            if memory is None:
                return float("nan")
            self.validation_states = memory.distinct_states(self.loop.validation_size)
            if self.validation_states is None:
                return float("nan")
        chunks = np.array_split(self.validation_states, max(1, len(self.validation_states) // MEANQ_CHUNK))
        q_values = np.concatenate([self.parts.network.predict(chunk) for chunk in chunks])
        return float(q_values.max(axis=1).mean())

    def _save(self, epoch: int, stopped: StoppedPhase | None = None) -> None:
        assert self.run is not None
        self.saving = self.run.snapshot(epoch)
        save_checkpoint(self.run, epoch, self.parts, options=self.options, validation_states=self.validation_states,
                        save_replay_memory=self.replay.save_replay_memory, stopped=stopped,
                        last_snapshot=self.last_snapshot, saved=self._saved)

    def _saved(self, path: Path) -> None:
        self.last_snapshot, self.saving = path, None

    def stopped_at_once_message(self) -> str:
        """What a run left at once, by a second Ctrl-C, kept: ``interrupted_message`` but for a save it cut short."""
        if self.saving is None:
            return self.interrupted_message().replace("stopped", "stopped at once", 1)
        last = (f"the last saved whole is {self.last_snapshot}: ./resume.sh {self.last_snapshot}" if self.last_snapshot
                else "no snapshot was saved whole before it")
        return f"stopped at once while saving {self.saving}; {last}"

    def interrupted_message(self) -> str:
        """What a training or test run stopped by Ctrl-C kept, and how to go on; ``play.py`` says it of games played."""
        where = f"stopped during {'epoch ' + str(self.epoch) + ' ' if self.epoch else ''}{self.phase}"
        if self.saved_on_stop:
            return f"{where} and saved where it stopped; continue with ./resume.sh {self.last_snapshot}"
        if self.last_snapshot:
            return f"{where}; continue from the last snapshot with ./resume.sh {self.last_snapshot}"
        return f"{where}; no snapshot was saved yet" if self.run and self.loop.train_steps else \
            f"{where}; nothing was written"


def report_compressed_memory(memory: ReplayMemory) -> None:
    """How well this game's screens compress is known only once some are stored: say what that means."""
    projected = memory.projected_nbytes()
    log.info("replay memory: screens compressed to %d bytes per transition so far; full, about %.2f GB",
             projected // memory.size, projected / 1e9)
    available = psutil.virtual_memory().available + memory.nbytes
    if projected > available:
        log.warning("replay memory will need about %.1f GB when full but only %.1f GB are free: "
                    "lower --replay_size to %d or less", projected / 1e9, available / 1e9,
                    int(memory.size * available * 0.9 / projected))


def test_result_line(row: dict) -> str:
    if not row["nr_games"]:
        return f"tested {row['steps']} steps: no game finished (raise --test_steps)"
    return (f"tested {counted(row['nr_games'], 'game')}: average {row['average_reward']:.2f}, "
            f"min {row['min_game_reward']:g}, max {row['max_game_reward']:g}")
