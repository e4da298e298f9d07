"""The epsilon-greedy agent playing several games at once (``--num_envs``), each with its own replay stream.

One step here is one agent step of every game.  The actions of all games come from one batched forward
pass; they are sent to the emulator, which steps them in its own threads while the update runs here, and
only then are the screens received: emulation and learning overlap.  Step counts stay agent steps over
all games, so the Nature ratio (a minibatch every ``train_frequency`` agent steps) and the exploration and
target schedules mean what they mean with one game.
"""

import logging
from collections.abc import Callable
from typing import cast

import numpy as np

from simple_dqn.dqn.agent import Learner, StepObserver, TimeSplit
from simple_dqn.dqn.deepqnetwork import DeepQNetwork
from simple_dqn.dqn.replay_memory import ReplayMemory
from simple_dqn.dqn.settings import AgentSettings
from simple_dqn.dqn.state_buffer import StateBuffers
from simple_dqn.dqn.vector_environment import VectorEnvironment
from simple_dqn.stopping import StopRequest

log = logging.getLogger(__name__)


class VectorAgent(Learner):
    """Plays ``environment.games`` games at once; a phase of ``steps`` steps plays them until it has played at
    least that many agent steps over all games (the next multiple of the number of games)."""

    def __init__(
        self,
        environment: VectorEnvironment,
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
        self.state_buffers = StateBuffers(environment.games, state_shape[0], state_shape[1:])

    def _play(self, steps: int | None, *, mode: str, store: bool, learn: bool,
              exploration_rate: Callable[[], float], games: int | None = None) -> None:
        if steps is None:
            raise ValueError("several games at once play a number of steps, not of games")
        if (store or learn) and self.memory is None:
            raise ValueError("a phase that stores transitions or learns needs a replay memory")
        memory = cast(ReplayMemory, self.memory)  # used only where it was just checked
        environment, count = self.environment, self.environment.games
        environment.set_mode(mode)
        if self._continue_episode:
            self._continue_episode = False
        else:
            if store:
                memory.truncate_episode()  # the previous phase's episodes end where that phase ended
            environment.new_games()
            self.state_buffers.start_episodes(np.ones(count, dtype=bool), environment.screens())
        step = 0
        split = TimeSplit()
        while step < steps and not self.stop.requested:
            epsilon = exploration_rate()
            actions = self._choose_actions(epsilon)
            split.lap("acting")
            environment.send(actions)
            split.skip()
            if learn:
                for _ in range(count):  # the updates these agent steps are due, while the emulator steps them
                    self._learn(memory)
                split.lap("update")
            result = environment.receive()
            split.lap("emulator")
            if store:
                memory.add(self.state_buffers.newest(), actions, result.rewards, result.terminals)
            for game in range(count):
                game_over = bool(result.game_overs[game])
                self.statistics.on_step(float(result.rewards[game]), game_over,
                                        int(result.episode_frames[game]) if game_over else 0, game=game)
            split.skip()
            self.state_buffers.add(~result.terminals, environment.screens())
            if result.terminals.any():
                environment.restart(result.terminals, result.game_overs)
                self.state_buffers.start_episodes(result.terminals, environment.screens())
            split.lap("emulator")
            self.last_exploration_rate = epsilon
            step += count
        log.info(split.line())

    def _choose_actions(self, epsilon: float) -> np.ndarray:
        """One action per game; the greedy ones from a single forward pass over every game's state."""
        count = self.environment.games
        explore = self.rng.random(count) < epsilon if epsilon < 1.0 else np.ones(count, dtype=bool)
        actions = self.rng.integers(self.environment.num_actions(), size=count)
        if not explore.all():
            actions = np.where(explore, actions, self.network.best_actions(self.state_buffers.states()))
        return actions

    def _screens_in_progress(self) -> np.ndarray:
        return self.state_buffers.screens
