"""The one loop every phase plays, for one game or many: choose the actions, step the games, learn while they
step, store what they gave, go on.

Every phase begins new games and abandons its unfinished ones at its end, so phases never share a
game and their statistics count whole games only.  A run resumed in the middle of a phase is the
exception: that phase goes on with the games the run stopped in.
"""

import logging
import time
from dataclasses import dataclass
from typing import Protocol

import torch

from simple_dqn.dqn.agent import Agent
from simple_dqn.dqn.games import Games, Step
from simple_dqn.stopping import StopRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhaseKind:
    mode: str  # what ends an episode (``Games.set_mode``)
    stores: bool  # transitions go to replay memory
    learns: bool


PHASES = {"random": PhaseKind("train", stores=True, learns=False),
          "train": PhaseKind("train", stores=True, learns=True),
          "test": PhaseKind("test", stores=False, learns=False),
          "play": PhaseKind("test", stores=False, learns=False)}


class PhaseObserver(Protocol):
    """What is told of a phase as it is played: its statistics."""

    def on_steps(self, step: Step, losses: list[torch.Tensor]) -> None:
        """An agent step of every game, and the loss of each minibatch learned at it."""


def play_phase(games: Games, agent: Agent, statistics: PhaseObserver, stop: StopRequest, phase: str, *,
               steps: int | None = None, whole_games: int | None = None, new_games: bool = True) -> None:
    """``steps`` agent steps over all games (to a multiple of their number), or ``whole_games`` games, or until a stop;
    ``new_games`` False goes on with the games a resumed run restored.  New games begin even when a stop came
    first: the run is saved with them, no-op starts drawn, and the resumed run goes on with them."""
    kind = PHASES[phase]
    games.set_mode(kind.mode)
    if new_games:
        if kind.stores:
            agent.cut_episodes()  # the previous phase's episodes end where that phase ended
        games.new_games()
    played = finished = 0
    split = TimeSplit()
    while (steps is None or played < steps) and (whole_games is None or finished < whole_games) \
            and not stop.requested:
        states = games.states()
        actions = agent.choose_actions(states, phase)
        split.lap("acting")
        games.send(actions)
        split.lap("emulator")
        losses = agent.learn(games.count) if kind.learns else []  # the updates these steps are due, as the games step
        split.lap("update")
        step = games.receive()
        split.lap("emulator")
        if kind.stores:
            agent.remember(states, actions, step)
        statistics.on_steps(step, losses)
        finished += int(step.game_overs.sum())
        split.skip()
        if whole_games is None or finished < whole_games:  # after a play phase's last game, none is begun
            games.begin_next(step)
        split.lap("emulator")
        played += games.count
    log.info(split.line())


class TimeSplit:
    """Where a phase's time goes: waiting for the emulator, choosing actions, updating the network, the rest."""

    PARTS = ("emulator", "acting", "update")

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(self.PARTS, 0.0)
        self.started = time.perf_counter()
        self._last = self.started

    def lap(self, part: str) -> None:
        """The time since the last lap went to ``part``."""
        now = time.perf_counter()
        self.seconds[part] += now - self._last
        self._last = now

    def skip(self) -> None:
        """The time since the last lap went to none of the parts."""
        self._last = time.perf_counter()

    def line(self) -> str:
        total = time.perf_counter() - self.started
        parts = ", ".join(f"{part} {self.seconds[part]:.2f} s" for part in self.PARTS)
        return f"time split: {parts}, other {total - sum(self.seconds.values()):.2f} s of {total:.2f} s"
