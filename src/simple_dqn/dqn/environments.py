"""The environment the settings name: ale-py's own interface, or a Gymnasium id; or several games at once."""

from simple_dqn.dqn.environment import ALEEnvironment, Environment
from simple_dqn.dqn.settings import AgentSettings, EnvironmentSettings
from simple_dqn.dqn.vector_environment import VectorEnvironment, refuse_unsupported


def make_environment(settings: EnvironmentSettings, seed: int, sound: bool = False) -> Environment:
    """``sound``: keep each frame's samples, for a window or a video to play (ale-py's interface only)."""
    if settings.environment == "gym":
        from simple_dqn.dqn.gym_environment import GymEnvironment  # Gymnasium is imported only by those who use it

        return GymEnvironment(settings, seed)
    return ALEEnvironment(settings, seed, sound)


def make_vector_environment(settings: EnvironmentSettings, agent: AgentSettings, seed: int) -> VectorEnvironment:
    """``settings.num_envs`` games at once, once the settings are known to be ones the vector environment keeps."""
    refuse_unsupported(settings, agent.noop_unit)
    return VectorEnvironment(settings, settings.num_envs, agent.random_starts, seed)
