"""The one exception that turns bad input into a clear line and exit code 2."""

import sys
from collections.abc import Callable


class UsageError(Exception):
    """Input the user can fix: main() prints the message alone, no traceback, and exits with 2.

    The message is kept to one line: a line break or other control character that came with the
    input (a path such as "\\n") is shown escaped, as Python writes it in a string.
    """

    def __init__(self, message: str) -> None:
        super().__init__("".join(char if char.isprintable() else repr(char)[1:-1] for char in message))


def first_line(error: BaseException) -> str:
    """What an error of a library says, in a line for a UsageError: its first line, or its kind when it says nothing."""
    text = str(error).strip().strip("'\"")
    return text.splitlines()[0] if text else type(error).__name__


def exit_code_of(run: Callable[[], int], stopped_early: str) -> int:
    """``run``'s exit code: bad input is one line and 2; Ctrl-C before ``run`` set its own handling is
    ``stopped_early`` and 130."""
    try:
        return run()
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(stopped_early, file=sys.stderr)
        return 130
