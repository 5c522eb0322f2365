"""A dependency-free progress line for stderr: items, items/s and the total when known."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts items and redraws one status line on a terminal (or logs sparsely elsewhere).

    Args:
        label: What is being counted, e.g. ``"postmark opens"``.
        stream: Where to draw (stderr by default).
        enabled: Draw at all; when off, :meth:`advance` only counts.
        interval: Seconds between redraws.
    """

    def __init__(
        self,
        label: str,
        *,
        stream: TextIO | None = None,
        enabled: bool = True,
        interval: float = 0.1,
    ) -> None:
        self.label = label
        self.count = 0
        self.total: int | None = None
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = enabled
        self._tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self._interval = interval if self._tty else max(interval, 2.0)
        self._started = time.monotonic()
        self._last_draw = 0.0
        self._drawn = False

    def set_total(self, total: int | None) -> None:
        """Set the number of items expected (``None``: unknown)."""
        self.total = total

    def advance(self, n: int = 1) -> None:
        """Count *n* more items, redrawing at most every ``interval`` seconds."""
        self.count += n
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._last_draw >= self._interval:
            self._last_draw = now
            self._draw(now)

    @property
    def elapsed(self) -> float:
        """Seconds since the progress line started."""
        return time.monotonic() - self._started

    @property
    def rate(self) -> float:
        """Items per second so far."""
        elapsed = self.elapsed
        return self.count / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        """Return the status line as text."""
        rate = self.rate
        if self.total:
            share = min(1.0, self.count / self.total)
            width = 24
            filled = int(share * width)
            bar = "█" * filled + "░" * (width - filled)
            return (
                f"{self.label}: {bar} {self.count:,}/{self.total:,} "
                f"({share:.0%}) {rate:,.0f} items/s"
            )
        return f"{self.label}: {self.count:,} items, {rate:,.0f} items/s"

    def _draw(self, now: float) -> None:
        del now
        if self._tty:
            self._stream.write("\r\x1b[2K" + self.line())
        else:
            self._stream.write(self.line() + "\n")
        self._stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Draw the final state and end the line."""
        if not self._enabled:
            return
        self._draw(time.monotonic())
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()
