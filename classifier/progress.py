"""Progress of a long batch on standard error: items done, rate, and time left when the input's
size is known.

Shown only when the run takes more than a couple of seconds, and by default only when standard
error is a terminal (``--progress`` forces it, ``--no-progress`` silences it). On a terminal one
line is rewritten in place; elsewhere a line is printed every few seconds. Either way a last line
gives the total, the time taken and the rate.
"""
from __future__ import annotations

import os
import stat
import sys
import time
from typing import Callable, TextIO


class Progress:
    def __init__(self, what: str = "paragraphs", total_bytes: int | None = None, enabled: bool | None = None,
                 stream: TextIO | None = None, delay: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.what, self.total_bytes, self.position = what, total_bytes, None
        self.stream = stream or sys.stderr
        self.terminal = _isatty(self.stream)
        self.enabled = self.terminal if enabled is None else enabled
        self.asked = enabled is True  # --progress: the last line even for a short run
        self.delay, self.clock = delay, clock
        self.interval = 0.5 if self.terminal else 5.0
        self.started = clock()
        self.next = self.started + delay
        self.done = 0
        self.shown = False

    def update(self, done: int, position: int | None = None) -> None:
        """``done`` more items are finished, and the input has been read up to byte ``position``
        (of ``total_bytes``) for them."""
        self.done += done
        if position is not None:
            self.position = position
        if not self.enabled:
            return
        now = self.clock()
        if now >= self.next:
            self.next = now + self.interval
            self._show(self.line(now), final=False)

    def line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        text = f"{self.done:,} {self.what}, {rate:,.0f}/s, {_duration(elapsed)}"
        if self.total_bytes and self.position:
            share = min(self.position / self.total_bytes, 1.0)
            text += f", {share:.0%} of {self.total_bytes / 1e6:,.1f} MB"
            if share < 1.0:
                text += f", about {_duration(elapsed * (1 / share - 1))} left"
        return text

    def close(self) -> None:
        """The last line: the total, the time taken and the rate (if anything was shown, or asked for)."""
        if self.enabled and (self.shown or self.asked):
            elapsed = max(self.clock() - self.started, 1e-9)
            self._show(f"{self.done:,} {self.what} in {_duration(elapsed)}, {self.done / elapsed:,.0f}/s", final=True)

    def _show(self, text: str, final: bool) -> None:
        if self.terminal:
            self.stream.write("\r\x1b[K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.shown = True


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def file_size_and_position(stream) -> tuple[int | None, Callable[[], int | None] | None]:
    """The size of the regular file behind ``stream`` (a file, or standard input redirected from
    one) and a function that tells how far it has been read; (None, None) for a pipe or terminal."""
    try:
        descriptor = stream.fileno()
        info = os.fstat(descriptor)
    except (AttributeError, OSError, ValueError):
        return None, None
    if not stat.S_ISREG(info.st_mode):
        return None, None

    def position() -> int | None:
        try:
            return os.lseek(descriptor, 0, os.SEEK_CUR)
        except OSError:
            return None

    return info.st_size, position
