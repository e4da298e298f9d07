"""What a display of a game is: it shows frames and a status line, and hands back the keys pressed.

Both kinds take the same keys, named as the original's ALE viewer named them: ``a`` slower,
``s`` faster, ``m`` manual control on and off, ``[`` and ``]`` volume, ``q`` quit.  In manual
control the arrow keys and space (fire) drive the game, each arrow moving the player the way it
points (``manual_control``); the line under the keys says which action each key takes.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

DIRECTIONS = ("up", "down", "left", "right", "fire")
KEYS_HELP = "q quit · a slower · s faster · [ ] volume"


@dataclass
class Status:
    """What is shown under the picture."""

    game: str
    score: float
    lives: int
    game_number: int
    games: int
    speed: str
    manual: bool
    manual_keys: str  # the key line of manual control: each key and the action it takes in this game
    action_names: list[str]
    q_values: np.ndarray | None = None
    chosen_action: int | None = None
    messages: list[str] = field(default_factory=list)

    def headline(self) -> str:
        driver = "MANUAL" if self.manual else "agent"
        return (f"{self.game}  score {self.score:g}  lives {self.lives}  game {self.game_number} of {self.games}  "
                f"speed {self.speed}  {driver}")

    def q_value_cells(self) -> list[tuple[str, bool]]:
        """Each action with its Q-value (dashes before the first step), and whether it is the one just taken."""
        values = ["-.---"] * len(self.action_names) if self.q_values is None else [f"{q:.3f}" for q in self.q_values]
        return [(f"{name} {value}", action == self.chosen_action)
                for action, (name, value) in enumerate(zip(self.action_names, values, strict=True))]


class Display(ABC):
    """Shows frames and the status, and hands back the keys pressed since it was last asked."""

    frames_per_second: int  # at most this many frames are drawn each second
    has_sound = False
    uses_terminal = False  # then nothing else may write to the terminal while it shows the game

    @abstractmethod
    def show(self, rgb: np.ndarray, status: Status) -> None:
        """Draw one emulator frame, uint8 (210, 160, 3), with the status under it."""

    @abstractmethod
    def pressed_commands(self) -> list[str]:
        """The command keys pressed since the last call: 'a', 's', 'm', '[', ']', 'q'."""

    @abstractmethod
    def held_directions(self) -> set[str]:
        """Those of ``DIRECTIONS`` the player holds, for manual control."""

    def play_sound(self, samples: np.ndarray) -> None:  # noqa: B027  (a default: most displays have no sound)
        """Unsigned 8-bit samples at the emulator's rate; nothing where there is no sound."""

    def change_volume(self, step: float) -> str:
        """What to tell the player about the volume after changing it by ``step``."""
        return "no sound here: [ and ] do nothing"

    def close(self) -> None:  # noqa: B027  (a default: most displays have nothing to give back)
        """Give the screen back as it was; safe to call more than once."""
