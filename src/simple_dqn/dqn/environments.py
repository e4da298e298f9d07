"""The environment the settings name: ale-py's own interface, or a Gymnasium id."""

from simple_dqn.dqn.environment import ALEEnvironment, Environment
from simple_dqn.dqn.settings import EnvironmentSettings


def make_environment(settings: EnvironmentSettings, seed: int, sound: bool = False) -> Environment:
    """``sound``: keep each frame's samples, for a window or a video to play (ale-py's interface only)."""
    if settings.environment == "gym":
        from simple_dqn.dqn.gym_environment import GymEnvironment  # Gymnasium is imported only by those who use it

        return GymEnvironment(settings, seed)
    return ALEEnvironment(settings, seed, sound)
