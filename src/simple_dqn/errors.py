"""The one exception that turns bad input into a clear line and exit code 2."""

import sys
from collections.abc import Callable


class UsageError(Exception):
    """Input the user can fix: main() prints the message alone, no traceback, and exits with 2."""


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
