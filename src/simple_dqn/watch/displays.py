"""Where a game is shown: a window when there is a graphical display, else the text terminal."""

import os
import sys

from simple_dqn.errors import UsageError
from simple_dqn.watch.display import Display


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
        from simple_dqn.watch.window_display import WindowDisplay  # pygame is loaded only by those who open a window

        return WindowDisplay(title, action_names, sound)
    from simple_dqn.watch.terminal_display import TerminalDisplay

    return TerminalDisplay()
