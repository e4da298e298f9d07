"""The epsilon-greedy agent: actions for the states of the games played at once, and learning from replay."""

from collections.abc import Callable

import numpy as np
import torch

from simple_dqn.dqn.deepqnetwork import DeepQNetwork
from simple_dqn.dqn.games import Step
from simple_dqn.dqn.replay_memory import ReplayMemory
from simple_dqn.dqn.settings import AgentSettings

# Sees each action chosen, with the state's Q-values, and returns the action to take: a viewer's manual control.
Steer = Callable[[int, np.ndarray], int]
# Sees each state acted on (a view: copy it to keep it), its Q-values and the action taken.
ActionObserver = Callable[[np.ndarray, np.ndarray, int], None]


class Agent:
    """Chooses the actions of a batch of states (one game is a batch of one) and learns on the Nature schedule.

    Every schedule counts agent steps, one action of one game (``frame_skip`` frames), over all games
    played at once: exploration decays over them, a minibatch is learned every ``train_frequency`` of
    them and the target network copied every ``target_steps``.
    """

    def __init__(self, network: DeepQNetwork, memory: ReplayMemory | None, settings: AgentSettings, num_actions: int,
                 seed: int | np.random.SeedSequence | None = None) -> None:
        """``memory``: None where nothing is stored or learned (test, play)."""
        self.network = network
        self.memory = memory
        self.settings = settings
        self.num_actions = num_actions
        self.rng = np.random.default_rng(seed)
        self.total_train_steps = 0
        self.weight_updates = 0
        self.last_exploration_rate = settings.exploration_rate_start
        self._steer: Steer | None = None
        self._action_observers: list[ActionObserver] = []

    def state_dict(self) -> dict:
        """Step counters and the random generator, so a resumed run explores exactly as it would have."""
        return {"total_train_steps": self.total_train_steps, "weight_updates": self.weight_updates,
                "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.total_train_steps, self.weight_updates = state["total_train_steps"], state["weight_updates"]
        self.rng.bit_generator.state = state["rng"]

    def let_steer(self, steer: Steer) -> None:
        """Let ``steer`` see each action chosen with its Q-values, and put another in its place (one steer only)."""
        if self._steer is not None:
            raise ValueError("the agent is steered already")
        self._steer = steer

    def observe_actions(self, observer: ActionObserver) -> None:
        """Tell ``observer`` each state acted on, its Q-values and the action taken, after any steer."""
        self._action_observers.append(observer)

    def exploration_rate(self, phase: str = "train") -> float:
        """1 in the random phase, ``exploration_rate_test`` in test and play; in training, linear from start to end
        over the first ``exploration_decay_steps`` training steps."""
        settings = self.settings
        if phase == "random":
            return 1.0
        if phase != "train":
            return settings.exploration_rate_test
        if self.total_train_steps >= settings.exploration_decay_steps:
            return settings.exploration_rate_end
        start, end = settings.exploration_rate_start, settings.exploration_rate_end
        return start + self.total_train_steps / settings.exploration_decay_steps * (end - start)

    def choose_actions(self, states: np.ndarray, phase: str) -> np.ndarray:
        """An action per state, random with the phase's exploration rate, else the greedy one: int64 (games,).  The
        network values the states in one forward pass, and only when some action is greedy or someone watches."""
        epsilon = self.last_exploration_rate = self.exploration_rate(phase)
        games = len(states)
        explore = self.rng.random(games) < epsilon
        actions = self.rng.integers(self.num_actions, size=games)
        watched = self._steer is not None or self._action_observers
        if watched or not explore.all():
            q_values = self.network.predict(states)
            actions = np.where(explore, actions, q_values.argmax(axis=1))
            if watched:
                self._show(states, q_values, actions)
        return actions

    def _show(self, states: np.ndarray, q_values: np.ndarray, actions: np.ndarray) -> None:
        for game, state in enumerate(states):
            if self._steer is not None:
                actions[game] = self._steer(int(actions[game]), q_values[game])
            for observer in self._action_observers:
                observer(state, q_values[game], int(actions[game]))

    def remember(self, states: np.ndarray, actions: np.ndarray, step: Step) -> None:
        """Store the transitions ``step`` ended, each by the newest screen of the state acted on."""
        self._replay().add(states[:, -1], actions, step.rewards, step.terminals)

    def cut_episodes(self) -> None:
        """The games in progress are abandoned: the next transitions stored begin new episodes."""
        self._replay().truncate_episode()

    def learn(self, agent_steps: int) -> list[torch.Tensor]:
        """``agent_steps`` steps' share of learning; the loss of each minibatch learned."""
        memory, settings = self._replay(), self.settings
        losses = []
        for _ in range(agent_steps):
            self.total_train_steps += 1
            if self.total_train_steps % settings.train_frequency == 0 and memory.count > memory.batch_size:
                for _ in range(settings.train_repeat):
                    losses.append(self.network.train(memory.get_minibatch()))
                    self.weight_updates += 1
            if settings.target_steps and self.total_train_steps % settings.target_steps == 0:
                self.network.update_target_network()
        return losses

    def _replay(self) -> ReplayMemory:
        if self.memory is None:
            raise ValueError("a phase that stores transitions or learns needs a replay memory")
        return self.memory
