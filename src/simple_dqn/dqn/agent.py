"""The epsilon-greedy agent and the phases it plays: random, train, test and play."""

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Protocol, cast

import numpy as np
import torch

from simple_dqn.dqn.deepqnetwork import DeepQNetwork
from simple_dqn.dqn.environment import Environment
from simple_dqn.dqn.replay_memory import ReplayMemory
from simple_dqn.dqn.settings import AgentSettings
from simple_dqn.dqn.state_buffer import StateBuffer
from simple_dqn.errors import UsageError
from simple_dqn.stopping import StopRequest

log = logging.getLogger(__name__)

# Sees each action chosen, with the state's Q-values, and returns the action to take: a viewer's manual control.
Steer = Callable[[int, np.ndarray], int]
# Sees each state acted on (a view: copy it to keep it), its Q-values and the action taken.
ActionObserver = Callable[[np.ndarray, np.ndarray, int], None]


class StepObserver(Protocol):
    """What the agent tells as it plays: the phase's statistics."""

    def on_step(self, reward: float, game_over: bool, game_frames: int = 0, game: int = 0) -> None:
        """``game``: which of the games played at once took the step."""

    def on_update(self, loss: torch.Tensor) -> None: ...


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


class Learner(ABC):
    """What every agent shares, however many games it plays: the network and replay memory, the exploration,
    update and target schedules counted in agent steps (one action, ``frame_skip`` frames), and the phases.

    Every phase starts new games and abandons its unfinished ones at the end, so phases never
    share a game and their statistics count whole games only.
    """

    def __init__(
        self,
        network: DeepQNetwork,
        memory: ReplayMemory | None,
        statistics: StepObserver,
        settings: AgentSettings,
        seed: int | np.random.SeedSequence | None = None,
        stop: StopRequest | None = None,
    ) -> None:
        self.network = network
        self.memory = memory
        self.statistics = statistics
        self.settings = settings
        self.rng = np.random.default_rng(seed)
        self.stop = stop or StopRequest()
        self.total_train_steps = 0
        self.weight_updates = 0
        self.last_exploration_rate = settings.exploration_rate_start
        self._continue_episode = False

    def state_dict(self) -> dict:
        """Step counters and the random generator, so a resumed run explores exactly as it would have."""
        return {"total_train_steps": self.total_train_steps, "weight_updates": self.weight_updates,
                "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.total_train_steps, self.weight_updates = state["total_train_steps"], state["weight_updates"]
        self.rng.bit_generator.state = state["rng"]

    def exploration_rate(self) -> float:
        """Linear from start to end over the first ``exploration_decay_steps`` training steps."""
        start, end = self.settings.exploration_rate_start, self.settings.exploration_rate_end
        if self.total_train_steps >= self.settings.exploration_decay_steps:
            return end
        return start + self.total_train_steps / self.settings.exploration_decay_steps * (end - start)

    def play_random(self, steps: int) -> None:
        """Fill replay memory with a uniform random policy before learning starts."""
        self._play(steps, mode="train", store=True, learn=False, exploration_rate=lambda: 1.0)

    def train(self, steps: int) -> None:
        self._play(steps, mode="train", store=True, learn=True, exploration_rate=self.exploration_rate)

    def test(self, steps: int) -> None:
        self._play(steps, mode="test", store=False, learn=False,
                   exploration_rate=lambda: self.settings.exploration_rate_test)

    @abstractmethod
    def _play(self, steps: int | None, *, mode: str, store: bool, learn: bool,
              exploration_rate: Callable[[], float], games: int | None = None) -> None:
        """Play ``steps`` agent steps, or ``games`` whole games, in ``mode``."""

    @abstractmethod
    def _screens_in_progress(self) -> np.ndarray:
        """The agent's own array of the last screens of the games in progress."""

    def episode_screens(self) -> np.ndarray:
        """A copy of the last screens of the games in progress, for ``continue_episode`` in a resumed run."""
        return self._screens_in_progress().copy()

    def continue_episode(self, screens: np.ndarray) -> None:
        """Let the next phase played go on with the games a stopped run was in, from their last screens."""
        own = self._screens_in_progress()
        if screens.shape != own.shape:
            raise UsageError(f"the snapshot stopped in games of {tuple(screens.shape)} screens; this run's agent "
                             f"keeps {own.shape} (resume with the run's own --num_envs)")
        own[:] = screens
        self._continue_episode = True

    def _learn(self, memory: ReplayMemory) -> None:
        """One agent step's share: an update every ``train_frequency`` steps, a target copy every ``target_steps``."""
        self.total_train_steps += 1
        if self.total_train_steps % self.settings.train_frequency == 0 and memory.count > memory.batch_size:
            for _ in range(self.settings.train_repeat):
                self.statistics.on_update(self.network.train(memory.get_minibatch()))
                self.weight_updates += 1
        target_steps = self.settings.target_steps
        if target_steps and self.total_train_steps % target_steps == 0:
            self.network.update_target_network()


class Agent(Learner):
    """Plays one game and, in training, fills replay memory and updates the network."""

    def __init__(
        self,
        environment: Environment,
        network: DeepQNetwork,
        memory: ReplayMemory | None,
        statistics: StepObserver,
        settings: AgentSettings,
        state_shape: tuple[int, int, int],
        seed: int | np.random.SeedSequence | None = None,
        stop: StopRequest | None = None,
    ) -> None:
        """``state_shape``: (history_length, height, width) of the states acted on."""
        super().__init__(network, memory, statistics, settings, seed, stop)
        self.environment = environment
        self.state_buffer = StateBuffer(state_shape[0], state_shape[1:])
        self._steer: Steer | None = None
        self._action_observers: list[ActionObserver] = []

    def let_steer(self, steer: Steer) -> None:
        """Let ``steer`` see each action chosen with its Q-values, and put another in its place (one steer only)."""
        if self._steer is not None:
            raise ValueError("the agent is steered already")
        self._steer = steer

    def observe_actions(self, observer: ActionObserver) -> None:
        """Tell ``observer`` each state acted on, its Q-values and the action taken, after any steer."""
        self._action_observers.append(observer)

    def play(self, games: int) -> None:
        """Play whole games with the test exploration rate, storing them when there is a memory."""
        self._play(None, mode="test", store=self.memory is not None, learn=False,
                   exploration_rate=lambda: self.settings.exploration_rate_test, games=games)

    def _play(self, steps: int | None, *, mode: str, store: bool, learn: bool,
              exploration_rate: Callable[[], float], games: int | None = None) -> None:
        """A phase begins its game even when a stop was asked before it: the stop is then saved with that game in
        progress, whose no-op start has drawn on the random generator, and the resumed run goes on with it."""
        if (store or learn) and self.memory is None:
            raise ValueError("a phase that stores transitions or learns needs a replay memory")
        memory = cast(ReplayMemory, self.memory)  # used only where it was just checked
        self.environment.set_mode(mode)
        if self._continue_episode:
            self._continue_episode = False
        else:
            if store:
                memory.truncate_episode()  # the previous phase's episode ends where that phase ended
            self._start_episode(new_game=True)
        games_left = games
        step = 0
        split = TimeSplit()
        while (steps is None or step < steps) and (games_left is None or games_left > 0) and not self.stop.requested:
            epsilon = exploration_rate()
            action = self._choose_action(epsilon)
            split.lap("acting")
            reward = self.environment.act(action)
            split.lap("emulator")
            terminal = self.environment.is_terminal()
            if store:
                memory.add(self.state_buffer.newest(), action, reward, terminal)
            game_over = self.environment.is_game_over()
            self.statistics.on_step(reward, game_over, self.environment.episode_frames() if game_over else 0)
            if learn:
                split.skip()
                self._learn(memory)
                split.lap("update")
            if game_over and games_left is not None:
                games_left -= 1
            split.skip()
            if not terminal:
                self.state_buffer.add(self.environment.get_screen())
            elif games_left != 0:  # after the last game of a play phase, no new one is begun
                self._start_episode()
            split.lap("emulator")
            self.last_exploration_rate = epsilon
            step += 1
        log.info(split.line())

    def _screens_in_progress(self) -> np.ndarray:
        return self.state_buffer.screens

    def _choose_action(self, epsilon: float) -> int:
        explore = epsilon >= 1.0 or self.rng.random() < epsilon
        if self._steer is None and not self._action_observers:
            if explore:
                return int(self.rng.integers(self.environment.num_actions()))
            return self.network.best_action(self.state_buffer.state())
        state = self.state_buffer.state()
        q_values = self.network.predict(state[None])[0]  # what a viewer shows, even when exploring
        action = int(self.rng.integers(self.environment.num_actions())) if explore else int(q_values.argmax())
        if self._steer is not None:
            action = self._steer(action, q_values)
        for observer in self._action_observers:
            observer(state, q_values, action)
        return action

    def _start_episode(self, new_game: bool = False) -> None:
        """No-ops begin every new game, but not a new life: 1 to ``random_starts`` emulator frames of them (or 0 to
        ``random_starts`` agent steps with ``noop_unit`` steps)."""
        if new_game:
            self.environment.new_game()
        else:
            new_game = self.environment.restart()
        if new_game and self.settings.noop_unit == "frames" and self.settings.random_starts:
            self.environment.noop(int(self.rng.integers(1, self.settings.random_starts + 1)))
            if self.environment.is_game_over():
                self.environment.new_game()
        elif new_game and self.settings.noop_unit == "steps":
            for _ in range(self.rng.integers(self.settings.random_starts + 1)):
                self.environment.act(0)
                if self.environment.is_game_over():
                    self.environment.new_game()
        self.state_buffer.start_episode(self.environment.get_screen())
