"""The games the settings name: one through ale-py's own interface or a Gymnasium id, or several at once."""

from simple_dqn.dqn.environment import ALEEnvironment, Environment
from simple_dqn.dqn.games import Games
from simple_dqn.dqn.settings import AgentSettings, EnvironmentSettings, ReplaySettings
from simple_dqn.dqn.vector_environment import VectorEnvironment, refuse_unsupported


def make_environment(settings: EnvironmentSettings, seed: int, sound: bool = False, agent: AgentSettings | None = None,
                     history_length: int = ReplaySettings.history_length) -> Environment:
    """One game; ``sound``: keep each frame's samples, for a window or a video to play (ale-py's interface only);
    ``agent``: its no-op starts, the default ones when None."""
    agent = agent or AgentSettings()
    if settings.environment == "gym":
        from simple_dqn.dqn.gym_environment import GymEnvironment  # Gymnasium is imported only by those who use it

        return GymEnvironment(settings, seed, agent.random_starts, agent.noop_unit, history_length)
    return ALEEnvironment(settings, seed, sound, agent.random_starts, agent.noop_unit, history_length)


def make_games(settings: EnvironmentSettings, agent: AgentSettings, history_length: int, seed: int,
               sound: bool = False) -> Games:
    """``settings.num_envs`` games, once the settings are known to be ones the vector environment keeps when they
    are several."""
    if settings.num_envs == 1:
        return make_environment(settings, seed, sound, agent, history_length)
    refuse_unsupported(settings, agent.noop_unit)
    return VectorEnvironment(settings, settings.num_envs, agent.random_starts, seed, history_length)
