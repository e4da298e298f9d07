"""Stopping at a safe point: what Ctrl-C, SIGTERM and a viewer's ``q`` do.

Each asks the one ``StopRequest`` of the run; the phase loop finishes its step and ends, then the
phase runner saves a snapshot where the run stopped (see ``runs/phases.py``).
"""

import signal


class StopRequest:
    """Set once something asks the run to stop; read by the phase loop before every step."""

    def __init__(self) -> None:
        self.requested = False

    def request(self) -> None:
        self.requested = True

    def on_signals(self) -> None:
        """Ctrl-C or SIGTERM: let the current step finish, then stop at a safe point.  A second Ctrl-C is a person
        in a hurry: stop now (files are written atomically, so none is left half-written).  A repeated SIGTERM is a
        scheduler or a parent's death signal sent again, which must not cut the save short."""
        signal.signal(signal.SIGINT, lambda *_: self._on_signal(again_stops_now=True))
        signal.signal(signal.SIGTERM, lambda *_: self._on_signal(again_stops_now=False))

    def _on_signal(self, again_stops_now: bool) -> None:
        if self.requested and again_stops_now:
            raise SystemExit(130)
        self.request()
