"""The epsilon-greedy agent and the phases it plays: random, train, test and play."""

from collections.abc import Callable

import numpy as np

from deepqnetwork import DeepQNetwork
from environment import Environment
from replay_memory import ReplayMemory
from state_buffer import StateBuffer
from phase_statistics import Statistics


class Agent:
    """Plays the environment and, in training, fills replay memory and updates the network.

    Step counters are agent steps (one action, ``frame_skip`` frames).  Every phase
    starts a new game and abandons its unfinished one at the end, so phases never
    share a game and their statistics count whole games only.
    """

    def __init__(
        self,
        environment: Environment,
        network: DeepQNetwork,
        memory: ReplayMemory | None,
        statistics: Statistics,
        *,
        history_length: int = 4,
        screen_shape: tuple[int, int] = (84, 84),
        exploration_rate_start: float = 1.0,
        exploration_rate_end: float = 0.1,
        exploration_decay_steps: int = 1_000_000,
        exploration_rate_test: float = 0.05,
        train_frequency: int = 4,
        train_repeat: int = 1,
        target_steps: int = 10_000,
        random_starts: int = 30,
        seed: int | np.random.SeedSequence | None = None,
    ) -> None:
        self.environment = environment
        self.network = network
        self.memory = memory
        self.statistics = statistics
        self.state_buffer = StateBuffer(history_length, screen_shape)
        self.exploration_rate_start = exploration_rate_start
        self.exploration_rate_end = exploration_rate_end
        self.exploration_decay_steps = exploration_decay_steps
        self.exploration_rate_test = exploration_rate_test
        self.train_frequency = train_frequency
        self.train_repeat = train_repeat
        self.target_steps = target_steps
        self.random_starts = random_starts
        self.rng = np.random.default_rng(seed)
        self.total_train_steps = 0
        self.weight_updates = 0
        self.last_exploration_rate = exploration_rate_start
        self.stop_requested = False
        self._continue_episode = False
        # Sees each action chosen, with the state's Q-values, and may put another in its place: a viewer's manual control.
        self.steer: Callable[[int, np.ndarray], int] | None = None

    def exploration_rate(self) -> float:
        """Linear from start to end over the first ``exploration_decay_steps`` training steps."""
        if self.total_train_steps >= self.exploration_decay_steps:
            return self.exploration_rate_end
        progress = self.total_train_steps / self.exploration_decay_steps
        return self.exploration_rate_start + progress * (self.exploration_rate_end - self.exploration_rate_start)

    def play_random(self, steps: int) -> None:
        """Fill replay memory with a uniform random policy before learning starts."""
        self._play(steps, mode="train", store=True, learn=False, exploration_rate=lambda: 1.0)

    def train(self, steps: int) -> None:
        self._play(steps, mode="train", store=True, learn=True, exploration_rate=self.exploration_rate)

    def test(self, steps: int) -> None:
        self._play(steps, mode="test", store=False, learn=False, exploration_rate=lambda: self.exploration_rate_test)

    def play(self, games: int) -> None:
        """Play whole games with the test exploration rate, storing them when there is a memory."""
        self._play(None, mode="test", store=self.memory is not None, learn=False,
                   exploration_rate=lambda: self.exploration_rate_test, games=games)

    def _play(self, steps: int | None, *, mode: str, store: bool, learn: bool,
              exploration_rate: Callable[[], float], games: int | None = None) -> None:
        if self.stop_requested:  # asked to stop before the phase began: it begins on resuming, as it would have
            return
        self.environment.set_mode(mode)
        if self._continue_episode:
            self._continue_episode = False
        else:
            if store:
                self.memory.truncate_episode()  # the previous phase's episode ends where that phase ended
            self._start_episode(new_game=True)
        games_left = games
        step = 0
        while (steps is None or step < steps) and (games_left is None or games_left > 0) and not self.stop_requested:
            epsilon = exploration_rate()
            action = self._choose_action(epsilon)
            reward = self.environment.act(action)
            terminal = self.environment.is_terminal()
            if store:
                self.memory.add(self.state_buffer.newest(), action, reward, terminal)
            game_over = self.environment.is_game_over()
            self.statistics.on_step(reward, game_over, self.environment.episode_frames() if game_over else 0)
            if learn:
                self._learn()
            if game_over and games_left is not None:
                games_left -= 1
            if not terminal:
                self.state_buffer.add(self.environment.get_screen())
            elif games_left != 0:  # after the last game of a play phase, no new one is begun
                self._start_episode()
            self.last_exploration_rate = epsilon
            step += 1

    def continue_episode(self, screens: np.ndarray) -> None:
        """Let the next phase played go on with the game a stopped run was in, from its last screens."""
        self.state_buffer.screens[:] = screens
        self._continue_episode = True

    def _choose_action(self, epsilon: float) -> int:
        explore = epsilon >= 1.0 or self.rng.random() < epsilon
        if self.steer is None:
            if explore:
                return int(self.rng.integers(self.environment.num_actions()))
            return self.network.best_action(self.state_buffer.state())
        q_values = self.network.predict(self.state_buffer.state()[None])[0]  # what a steer shows, even when exploring
        action = int(self.rng.integers(self.environment.num_actions())) if explore else int(q_values.argmax())
        return self.steer(action, q_values)

    def _learn(self) -> None:
        """One update every ``train_frequency`` steps and a target copy every ``target_steps`` steps."""
        self.total_train_steps += 1
        if self.total_train_steps % self.train_frequency == 0 and self.memory.count > self.memory.batch_size:
            for _ in range(self.train_repeat):
                self.statistics.on_update(self.network.train(self.memory.get_minibatch()))
                self.weight_updates += 1
        if self.target_steps and self.total_train_steps % self.target_steps == 0:
            self.network.update_target_network()

    def _start_episode(self, new_game: bool = False) -> None:
        """Up to ``random_starts`` no-ops (action 0) begin every new game, but not a new life."""
        if new_game:
            self.environment.new_game()
        else:
            new_game = self.environment.restart()
        if new_game:
            for _ in range(self.rng.integers(self.random_starts + 1)):
                self.environment.act(0)
                if self.environment.is_game_over():
                    self.environment.new_game()
        self.state_buffer.start_episode(self.environment.get_screen())
