"""How far a build has gone: its phases and their counts, shown on one terminal line.

A build tells its Progress when a phase starts (`phase`) and each time a step of it is done
(`advance`). The plain Progress shows nothing: watch, serve, check, `-q` and output that is not a
terminal use it. `Line` shows nothing during the first second, so a quick build prints its summary
alone; after that it redraws one line in place, at most ten times a second, and `close` clears it
before the summary or the problems are printed. It draws only when told something, from the
build's own thread: a thread of its own would keep rendering from forking its workers.
"""

from __future__ import annotations

import time
from typing import TextIO


class Progress:
    """Told of a build's phases and steps; shows nothing."""

    def phase(self, name: str, total: int = 0, done: int = 0) -> None:
        """A phase starts, or learns where it stands: `done` of `total` steps (0: not counted)."""

    def advance(self, steps: int = 1) -> None:
        """`steps` more steps of the current phase are done."""

    def close(self) -> None:
        """The build is over: take back whatever was shown."""


class Line(Progress):
    """The phase and its count on one line of a terminal, e.g. `microsite: converting 1,234/10,000`."""

    def __init__(self, stream: TextIO, after: float = 1.0, interval: float = 0.1):
        self.stream = stream
        self.after = after
        """Seconds from the start before anything is shown."""
        self.interval = interval
        """Fewest seconds between two drawings of the same phase."""
        self.started = time.monotonic()
        self.drawn_at = float("-inf")
        self.width = 0
        """Characters of the line now shown, 0 when none is."""
        self.name, self.total, self.done = "", 0, 0

    def phase(self, name: str, total: int = 0, done: int = 0) -> None:
        self.name, self.total, self.done = name, total, done
        self._draw(time.monotonic() - self.started >= self.after)

    def advance(self, steps: int = 1) -> None:
        self.done += steps
        now = time.monotonic()
        self._draw(now - self.started >= self.after and now - self.drawn_at >= self.interval)

    def _draw(self, due: bool) -> None:
        if not due:
            return
        text = f"microsite: {self.name} {self.done:,}/{self.total:,}" if self.total else f"microsite: {self.name}"
        self.stream.write("\r" + text.ljust(self.width))  # spaces cover the rest of a longer line before it
        self.stream.flush()
        self.width = len(text)
        self.drawn_at = time.monotonic()

    def close(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0


NONE = Progress()
"""The Progress that shows nothing."""
