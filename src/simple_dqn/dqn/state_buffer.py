"""The states the agent acts on, kept apart from replay so test games never enter it."""

import numpy as np


class StateBuffer:
    """The last ``history_length`` screens of each of the games played at once, zeros before an episode's first.

    Zero padding matches what ``ReplayMemory`` rebuilds for the same step, so the
    network is trained on exactly the states it acted on.
    """

    def __init__(self, games: int, history_length: int, screen_shape: tuple[int, int]) -> None:
        self.screens = np.zeros((games, history_length, *screen_shape), dtype=np.uint8)

    def start_episodes(self, which: np.ndarray, screens: np.ndarray) -> None:
        """The games ``which`` (a mask) begin an episode with their screen in ``screens``."""
        self.screens[which] = 0
        self.screens[which, -1] = screens[which]

    def add(self, which: np.ndarray, screens: np.ndarray) -> None:
        """The games ``which`` go on to their screen in ``screens``."""
        games = slice(None) if which.all() else which  # a slice, when it can be, copies a third as long as a mask
        kept = self.screens[games, 1:]
        self.screens[games, :-1] = kept
        self.screens[games, -1] = screens[games]

    def states(self) -> np.ndarray:
        """uint8 (games, history_length, height, width), oldest screen first; a view, copy it to keep it."""
        return self.screens
