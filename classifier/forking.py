"""Forking worker processes safely: whether this process may fork, and Ctrl-C around the fork
and in the children (``classifier.batch``'s workers, ``classifier.head_start``'s child)."""
from __future__ import annotations

import contextlib
import signal


def can_fork() -> bool:
    """Whether local workers can be forked from this process: the platform forks, and no other
    Python thread runs (one could hold a lock that the forked copy would wait on for ever). The
    native thread pools of NumPy's BLAS re-create themselves in a forked child."""
    import multiprocessing
    import threading

    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


@contextlib.contextmanager
def interrupts_held():
    """Ctrl-C (SIGINT) held back while processes are forked: delivered when the block ends, and
    never to the children forked meanwhile (they are forked with it blocked)."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def ignore_interrupts() -> None:
    """In a forked worker: Ctrl-C is for the process that started it. The terminal sends SIGINT
    to every process of the command; a worker stopped by it in the middle of writing a result
    would keep the result queue's lock for ever, and the others would wait on it. This process
    stops them instead, once their chunks in hand are done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
