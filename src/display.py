"""Where a game is shown: a window when there is a graphical display, else the text terminal.

Both kinds take the same keys, named as the original's ALE viewer named them: ``a`` slower,
``s`` faster, ``m`` manual control on and off, ``[`` and ``]`` volume, ``q`` quit.  In manual
control the arrow keys and space (fire) drive the game.
"""

import os
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from errors import UsageError

DIRECTIONS = ("up", "down", "left", "right", "fire")
KEYS_HELP = "q quit · a slower · s faster · m manual (arrows, space) · [ ] volume"


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
                for action, (name, value) in enumerate(zip(self.action_names, values))]


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

    def play_sound(self, samples: np.ndarray) -> None:
        """Unsigned 8-bit samples at the emulator's rate; nothing where there is no sound."""

    def change_volume(self, step: float) -> str:
        """What to tell the player about the volume after changing it by ``step``."""
        return "no sound here: [ and ] do nothing"

    def close(self) -> None:
        """Give the screen back as it was; safe to call more than once."""


def choose_display(asked: str) -> str:
    """``window`` or ``terminal``: ``true`` picks a window when a graphical display is set, else the terminal."""
    graphical = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if asked == "window" and not graphical:
        raise UsageError("no graphical display to open a window on (DISPLAY is not set): --display_screen terminal "
                         "draws the game in the terminal")
    if asked == "window" or (asked == "true" and graphical):
        return "window"
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        if asked == "terminal":
            raise UsageError("--display_screen terminal draws in a terminal, and standard input and output are not one")
        raise UsageError("no screen to show the game on: run it in a terminal, or where a graphical display is set "
                         "(DISPLAY); to make a video instead: ./record.sh SNAPSHOT")
    return "terminal"


def open_display(kind: str, title: str, action_names: list[str], sound: bool) -> Display:
    """A window or the terminal, as ``choose_display`` chose."""
    if kind == "window":
        from window_display import WindowDisplay  # pygame is loaded only by those who open a window

        return WindowDisplay(title, action_names, sound)
    from terminal_display import TerminalDisplay

    return TerminalDisplay()
