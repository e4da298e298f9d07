"""Stopping at a safe point: what Ctrl-C, SIGTERM and a viewer's ``q`` do.

Each asks the one ``StopRequest`` of the run; the phase loop finishes its step and ends, then the
phase runner saves a snapshot where the run stopped (see ``runs/phases.py``).
"""

import os
import signal
import sys
from collections.abc import Callable


class StopRequest:
    """Set once something asks the run to stop; read by the phase loop before every step."""

    def __init__(self) -> None:
        self.requested = False

    def request(self) -> None:
        self.requested = True

    def on_signals(self, kept: Callable[[], str]) -> None:
        """Ctrl-C or SIGTERM: let the current step finish, then stop at a safe point.  A second Ctrl-C is a person
        in a hurry: stop now, wherever the run is, saying what ``kept`` says was saved and what was not.  A repeated
        SIGTERM is a scheduler or a parent's death signal sent again, which must not cut the save short."""
        signal.signal(signal.SIGINT, lambda *_: self._leave_now(kept) if self.requested else self.request())
        signal.signal(signal.SIGTERM, lambda *_: self.request())

    @staticmethod
    def _leave_now(kept: Callable[[], str]) -> None:
        """Leave at once, as a killed process does: an exception raised here could land inside a C++ callback (a
        snapshot's zip writer, which reports it as a failed write) or a destructor (which Python ignores), and the
        run would go on.  Files are written atomically, so none is left half-written; a next run clears the
        temporary ones."""
        print(kept(), file=sys.stderr, flush=True)
        os._exit(130)
