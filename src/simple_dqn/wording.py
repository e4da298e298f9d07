"""How values and counts read in messages: true and false as they are typed, "1 game" and "2 games"."""

from typing import Any


def shown(value: Any) -> str:
    """An option's value as the command line takes it: ``true``, not Python's ``True``."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def counted(number: int, noun: str) -> str:
    """``1 game``, ``2 games``: ``noun`` is the singular, made plural with an s."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
