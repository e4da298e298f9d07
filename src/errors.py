"""The one exception that turns bad input into a clear line and exit code 2."""


class UsageError(Exception):
    """Input the user can fix: main() prints the message alone, no traceback, and exits with 2."""
