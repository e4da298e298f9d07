"""A run's parts, built from its settings: the games, the network, the replay memory, the agent, the statistics."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from simple_dqn.dqn.agent import Agent
from simple_dqn.dqn.deepqnetwork import DeepQNetwork, resolve_device
from simple_dqn.dqn.environment import ALEEnvironment
from simple_dqn.dqn.games import Games
from simple_dqn.dqn.replay_memory import ReplayMemory, make_replay_memory
from simple_dqn.dqn.settings import AgentSettings, NetworkSettings, ReplaySettings
from simple_dqn.runs.live_curves import LiveCurves
from simple_dqn.runs.statistics import Statistics


@dataclass
class Parts:
    """What a run is made of, and what a snapshot holds the state of."""

    games: Games
    network: DeepQNetwork
    agent: Agent
    memory: ReplayMemory | None
    statistics: Statistics


@dataclass(frozen=True)
class Seeds:
    """The generators of a run's parts, all drawn from its one ``--random_seed``."""

    agent: np.random.SeedSequence
    memory: np.random.SeedSequence
    torch: int
    emulator: int

    @classmethod
    def of(cls, seed: int) -> "Seeds":
        agent, memory, torch_seed, emulator = np.random.SeedSequence(seed).spawn(4)
        return cls(agent, memory, int(torch_seed.generate_state(1)[0]), int(emulator.generate_state(1)[0] >> 1))


def build_parts(games: Games, network_settings: NetworkSettings, agent_settings: AgentSettings,
                replay: ReplaySettings, seeds: Seeds, *, trains: bool, csv_path: Path | None, progress: bool,
                curves: LiveCurves | None) -> Parts:
    """The parts around ``games``; a replay memory only for a run that trains."""
    torch.manual_seed(seeds.torch)
    device = resolve_device(network_settings.backend, network_settings.device)
    state_shape = (replay.history_length, *games.states().shape[2:])
    network = DeepQNetwork(games.num_actions(), network_settings, state_shape,
                           use_target_network=agent_settings.target_steps > 0, device=device, learns=trains)
    memory = make_replay_memory(replay, state_shape[1:], network_settings.batch_size, seeds.memory,
                                streams=games.count) if trains else None
    agent = Agent(network, memory, agent_settings, games.num_actions(), seeds.agent)
    return Parts(games, network, agent, memory, Statistics(csv_path, progress, curves, games.count))


def on_screen(games: Games) -> ALEEnvironment:
    """The game a display or a recording shows, every frame of it: the command line lets only one game of ale-py's
    own interface be shown or recorded."""
    if not isinstance(games, ALEEnvironment):
        raise TypeError(f"{games.name}: {games.count} games through {type(games).__name__} cannot be shown")
    return games
