"""Per-phase figures: the CSV row, the log summary and the progress bar."""

import logging
import math
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import torch
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from simple_dqn.dqn.games import Step
from simple_dqn.errors import UsageError
from simple_dqn.runs.live_curves import LiveCurves
from simple_dqn.runs.results_csv import append_csv_row
from simple_dqn.wording import counted

log = logging.getLogger(__name__)


class Statistics:
    """Collects one phase's figures; ``end_phase`` turns them into a CSV row and a log line.

    Games are whole games (a lost life does not count as one); rewards are raw game
    scores; ``meancost`` is the plain mean over the phase's updates; times are wall-clock
    seconds, ``total_time`` counting the time of earlier runs this one resumes.  ``curves``, when given, is told
    each finished game, each update's loss and each row as they come.
    """

    def __init__(self, csv_path: Path | None = None, progress: bool = True, curves: LiveCurves | None = None,
                 games: int = 1) -> None:
        """``games``: how many games are played at once, each with its own score so far."""
        self.games = games
        self.csv_path = Path(csv_path) if csv_path else None
        self.curves = curves
        self.previous_total_time = 0.0
        self.run_start = time.perf_counter()
        self.progress = progress
        self._bar = tqdm(disable=True)  # each phase has its own (see start_phase)
        self._while_bar_shows = ExitStack()
        self._percent_shown: int | None = None
        self._reset(0, "")

    @property
    def total_time(self) -> float:
        return self.previous_total_time + time.perf_counter() - self.run_start

    def state_dict(self) -> dict:
        """What a resumed run counts on from: the time spent so far."""
        return {"total_time": self.total_time}

    def load_state_dict(self, state: dict) -> None:
        self.previous_total_time = state["total_time"]

    def start_phase(self, epoch: int, phase: str, steps: int | None, so_far: dict | None = None) -> None:
        """``steps`` is the phase's length, None when it plays a number of games instead; ``so_far`` is what an
        earlier run counted of this phase before it stopped in the middle, to go on counting from."""
        self._reset(epoch, phase)
        if so_far is not None:
            self._go_on_from(so_far)
        if self.curves is not None:
            self.curves.start_phase(phase, self.steps)
        self._bar = self._while_bar_shows.enter_context(
            tqdm(total=steps, initial=self.steps, desc=phase_name(epoch, phase), unit="step",
                 disable=not self.progress, mininterval=1.0, dynamic_ncols=True, leave=False))
        if self.progress:  # a line logged while the bar shows is written above it, not after its text
            self._while_bar_shows.enter_context(logging_redirect_tqdm())
        self._percent_shown = self._percent_done()

    def _reset(self, epoch: int, phase: str) -> None:
        self.epoch, self.phase = epoch, phase
        self.steps = 0
        self.game_rewards: list[float] = []
        self.game_frames: list[int] = []  # emulator frames each finished game lasted
        self.game_reward = [0.0] * self.games  # each game's score so far
        self.updates = 0
        self.loss_sum = torch.zeros(())
        self.phase_start = time.perf_counter()

    def on_steps(self, step: Step, losses: list[torch.Tensor]) -> None:
        """One agent step of each game played at once, and the loss of each minibatch learned at it; a game over
        counts the game, with the emulator frames it lasted."""
        for game in range(self.games):
            self.steps += 1
            self.game_reward[game] += float(step.rewards[game])
            if step.game_overs[game]:
                self._count_game(game, int(step.episode_frames[game]))
        for loss in losses:
            self._count_update(loss)
        self._bar.update(self.games)
        percent = self._percent_done()
        if percent != self._percent_shown:
            self._percent_shown = percent
            self._bar.refresh()

    def _percent_done(self) -> int | None:
        """None for a phase of games.  The bar is redrawn each time this changes, as well as by tqdm once a second:
        the bar of a phase shorter than a second moves too."""
        return 100 * self.steps // self._bar.total if self._bar.total else None

    def _count_game(self, game: int, frames: int) -> None:
        self.game_rewards.append(self.game_reward[game])
        self.game_frames.append(frames)
        self.game_reward[game] = 0.0
        if self.curves is not None:
            self.curves.game_over(self.steps, self.game_rewards[-1], frames)
        self._bar.set_postfix(games=len(self.game_rewards), last_score=self.game_rewards[-1], refresh=False)

    def _count_update(self, loss: torch.Tensor) -> None:
        """Sum losses where they are, so a GPU is not made to wait for each one."""
        if self.updates == 0 or self.loss_sum.device != loss.device:  # the first, or carried over by a resumed run
            self.loss_sum = self.loss_sum.to(loss.device) if self.updates else torch.zeros((), device=loss.device)
        self.loss_sum += loss
        self.updates += 1
        if self.curves is not None:
            self.curves.update(self.steps, loss)

    @staticmethod
    def nothing_counted() -> dict:
        """What ``phase_so_far`` gives for a phase not yet begun: no game in progress either."""
        return {"steps": 0, "game_rewards": [], "game_frames": [], "game_reward": [], "updates": 0, "loss_sum": 0.0,
                "seconds": 0.0}

    def phase_so_far(self) -> dict:
        """What a phase stopped halfway has counted, for the run that resumes it."""
        return {"steps": self.steps, "game_rewards": list(self.game_rewards), "game_frames": list(self.game_frames),
                "game_reward": list(self.game_reward), "updates": self.updates, "loss_sum": float(self.loss_sum),
                "seconds": time.perf_counter() - self.phase_start}

    def _go_on_from(self, so_far: dict) -> None:
        """The counts of a phase begun by an earlier run, and the score so far of each game it was in."""
        self.steps, self.updates = so_far["steps"], so_far["updates"]
        self.game_reward = list(so_far["game_reward"]) or [0.0] * self.games
        if len(self.game_reward) != self.games:
            raise UsageError(f"the snapshot stopped in {counted(len(self.game_reward), 'game')} at once, not "
                             f"{self.games}: resume with the run's own --num_envs")
        self.game_rewards, self.game_frames = list(so_far["game_rewards"]), list(so_far["game_frames"])
        self.loss_sum = torch.tensor(so_far["loss_sum"])
        self.phase_start -= so_far["seconds"]

    def abandon_phase(self) -> None:
        """A phase stopped early writes no row; its progress bar still ends its line, its curves reach the disk."""
        self._while_bar_shows.close()
        if self.curves is not None:
            self.curves.flush()

    def end_phase(self, *, exploration_rate: float, total_train_steps: int, replay_memory_count: int,
                  weight_updates: int, meanq: Callable[[], float]) -> dict:
        """The phase's row, logged and appended to the CSV; ``meanq`` is measured after the phase's clock stops."""
        phase_time = time.perf_counter() - self.phase_start
        self._while_bar_shows.close()
        games = self.game_rewards
        row = {
            "epoch": self.epoch,
            "phase": self.phase,
            "steps": self.steps,
            "nr_games": len(games),
            "average_reward": sum(games) / len(games) if games else math.nan,
            "min_game_reward": min(games) if games else math.nan,
            "max_game_reward": max(games) if games else math.nan,
            "last_exploration_rate": exploration_rate,
            "total_train_steps": total_train_steps,
            "replay_memory_count": replay_memory_count,
            "meanq": meanq(),
            "meancost": self.loss_sum.item() / self.updates if self.updates else math.nan,
            "weight_updates": weight_updates,
            "total_time": self.total_time,
            "epoch_time": phase_time,
            "steps_per_second": self.steps / phase_time if phase_time > 0 else math.nan,
        }
        if self.csv_path:
            try:
                append_csv_row(self.csv_path, row)
            except OSError as error:
                raise UsageError(f"could not write the row of {phase_name(self.epoch, self.phase)} to {self.csv_path}: "
                                 f"{error.strerror or error}; free space there and resume from the last "
                                 "snapshot") from None
        if self.curves is not None:
            self.curves.end_phase(row)
        log.info(summary_line(row))  # once the row and its curves are on disk
        return row


def phase_name(epoch: int, phase: str) -> str:
    return f"epoch {epoch} {phase}" if phase in ("train", "test") else phase


def summary_line(row: dict) -> str:
    name = phase_name(row["epoch"], row["phase"])
    games = (f"{counted(row['nr_games'], 'game')}, average reward {row['average_reward']:.2f} "
             f"(min {row['min_game_reward']:g}, max {row['max_game_reward']:g})" if row["nr_games"]
             else "no game finished")
    return (f"{name}: {row['steps']} steps in {row['epoch_time']:.1f}s ({row['steps_per_second']:.1f} steps/s), "
            f"{games}, exploration {row['last_exploration_rate']:.3f}, meanq {row['meanq']:.4f}, "
            f"meancost {row['meancost']:.5f}, {row['weight_updates']} updates, replay {row['replay_memory_count']}")
