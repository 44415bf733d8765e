"""Forking worker processes safely and cheaply: whether this process may fork, Ctrl-C around the
fork and in the children (``classifier.batch``'s workers, ``classifier.head_start``'s child), and
what a worker need not redo of the parent's memory (its objects frozen out of the garbage
collector's reach, the heap it frees kept for its next chunk)."""
from __future__ import annotations

import contextlib
import ctypes
import gc
import signal

# glibc's mallopt parameter for the free memory kept at the top of the heap (malloc.h).
_M_TOP_PAD = -2
# What a forked worker keeps: a chunk's working memory (its tokens, arrays and output) with room
# to spare.
WORKER_HEAP_PAD = 64 * 1024 * 1024


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


@contextlib.contextmanager
def frozen_objects():
    """Every object of this process out of the garbage collector's reach while processes are
    forked, then back: the children's collections never go through what they inherit (the
    imports and the model), which in a worker took tens of milliseconds a full collection, and
    wrote to every page of those objects, copying it."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def start_worker() -> None:
    """In a forked worker, before its first chunk: ``ignore_interrupts`` and ``keep_freed_memory``."""
    ignore_interrupts()
    keep_freed_memory()


def keep_freed_memory(pad: int = WORKER_HEAP_PAD) -> bool:
    """Keep up to ``pad`` bytes of freed memory in this process's heap for its next allocations,
    rather than hand it back to the system as soon as it is free; whether the C library took it.

    A worker allocates a few megabytes for each chunk and frees them when the chunk is done. By
    default glibc gives freed memory at the top of the heap back at once, and the next chunk asks
    for it again, a page fault for every 4 kB: much of a worker's time in the kernel. Kept, the
    pages are reused. Peak memory is unchanged: what is kept was in use a moment before. Only
    glibc has ``mallopt``; elsewhere this does nothing.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # another C library
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return mallopt(_M_TOP_PAD, pad) == 1


def ignore_interrupts() -> None:
    """In a forked worker: Ctrl-C is for the process that started it. The terminal sends SIGINT
    to every process of the command; a worker stopped by it in the middle of writing a result
    would keep the result queue's lock for ever, and the others would wait on it. This process
    stops them instead, once their chunks in hand are done."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
