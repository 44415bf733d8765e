"""Feedback records on disk (append-only JSON Lines), kept in ``app.extensions``."""
from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
from pathlib import Path

from flask import Flask, current_app

from .errors import ApiError

log = logging.getLogger(__name__)

EXTENSION = "feedback_store"


class FeedbackStore:
    """Append-only JSON Lines, one record per line, safe across processes.

    Each record is written with one ``write`` on an ``O_APPEND`` descriptor under an exclusive
    ``flock`` and fsynced before the request is answered, so concurrent workers never
    interleave and an answered record survives a crash. A write that fails (disk full, file
    size limit, I/O error) is cut back off the file and answered 503: nothing half-written stays
    and nothing is answered as stored that is not.
    """

    # A record is at most a text, its tags and a few fields; a torn last line is looked for
    # within this many bytes of the end.
    TAIL_BYTES = 1 << 20

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def append(self, record: dict) -> None:
        line = _one_line(json.dumps(record, ensure_ascii=False)).encode("utf-8") + b"\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as error:
            raise _unavailable(error) from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            size = self._end_of_last_record(descriptor, os.fstat(descriptor).st_size)
            try:
                written = os.write(descriptor, line)
                if written != len(line):
                    raise OSError(errno.ENOSPC, "short write: the disk or the file size limit is full")
                os.fsync(descriptor)
            except OSError as error:
                # Leave no partial record behind: cut the file back to where it was.
                try:
                    os.ftruncate(descriptor, size)
                except OSError:
                    log.exception("could not cut a failed feedback write off %s", self.path)
                raise _unavailable(error) from None
        except OSError as error:  # the lock, the size or the repair failed
            raise _unavailable(error) from None
        finally:
            os.close(descriptor)

    def _end_of_last_record(self, descriptor: int, size: int) -> int:
        """The file's size once a torn last line, if any, is dealt with.

        Records are answered only when whole and fsynced, so a last line without its newline is
        a write cut short (a worker killed in the middle of it) that nobody was told was stored:
        it is cut off. A last line that is whole JSON (a hand edit without a final newline) is
        ended with a newline instead, so the next record never joins it.
        """
        if size == 0 or os.pread(descriptor, 1, size - 1) == b"\n":
            return size
        start = max(0, size - self.TAIL_BYTES)
        tail = os.pread(descriptor, size - start, start)
        cut = tail.rfind(b"\n") + 1
        if cut == 0 and start > 0:
            cut = len(tail)  # no line start in reach: keep it, on a line of its own
        try:
            whole = isinstance(json.loads(tail[cut:].decode("utf-8")), dict)
        except (ValueError, RecursionError):
            whole = False
        if whole or cut == len(tail):
            if os.write(descriptor, b"\n") != 1:
                raise OSError(errno.ENOSPC, "short write")
            return size + 1
        log.warning("cutting a torn feedback record (%d bytes, never acknowledged) off %s", len(tail) - cut, self.path)
        os.ftruncate(descriptor, start + cut)
        return start + cut


def _one_line(encoded: str) -> str:
    """JSON text with the line separators JSON leaves raw (U+0085, U+2028, U+2029) escaped, so
    a reader that splits lines on them still sees one record per line."""
    return encoded.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _unavailable(error: OSError) -> ApiError:
    reason = error.strerror or type(error).__name__
    return ApiError(503, "feedback_unavailable", f"feedback cannot be stored now ({reason}); "
                                                 f"nothing was saved, try again later")


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = FeedbackStore(app.config["FEEDBACK_PATH"])


def feedback_store() -> FeedbackStore:
    return current_app.extensions[EXTENSION]
