"""Batch tagging of large archives: ``suggest`` and ``evaluate`` over every core, or a cluster.

Texts are cut into chunks and each chunk is scored in worker processes on this machine
(``jobs``: a worker per process asked for), or on the workers of a Dask cluster (``dask_scheduler``; install the ``dask`` extra). Results come back in
input order, and a text's suggestions do not depend on the other texts of its chunk, so the
output is the single-process output, byte for byte.

- The model never travels with a chunk (its pickle is as much work as a chunk). Local workers
  are forked from this process with the model in memory (``can_fork``: Linux and other POSIX
  systems, when no other thread runs); where they cannot be, each loads it from its folder (or
  from a temporary copy of an in-memory model) on its first chunk and keeps it. A Dask cluster
  gets it scattered to its workers once.
- At most a few chunks per process are in flight (``map_ordered``): memory stays flat however
  large the archive, and this process reads no further ahead than the workers can take.
- The workers, one per core, do the scoring; this process reads the input and writes the output.
  (When it scored its share as well, its chunks waited on the GIL behind the executor's threads:
  a whole command took a few percent longer on 2 cores.) Only workers that load the model
  themselves leave it something to do while they start: it scores chunks until one is up, so a
  short input never waits for them.
- ``jobs=None`` (the commands' default) is "decide from the size of the input": one process for a
  small input (no start-up cost for ten lines), every core for a large one (``auto_start``).

The command line's own work per chunk (``suggest_lines``: JSON Lines in, JSON Lines out) runs in
the worker too, so this process only reads lines and writes the text that comes back; a worker
forked from it reads a file's chunks itself (``suggest_lines.FileRange``).
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import os
import tempfile
from collections import deque
from itertools import count, islice
from typing import Callable, Iterable, Iterator, Sequence

from .config import BATCH_SIZE
from .forking import can_fork, frozen_objects, interrupts_held, start_worker

DASK_CONNECT_TIMEOUT = "10s"
# With --jobs left to its default, worker processes are started for a regular file at least this
# large (about 2,300 paragraphs of news), or for a stream once this many chunks have been read and
# more follow. Forked workers start in milliseconds. On 2 cores (whole commands, --jobs 1 against
# --jobs 2) two of them paid from about 1,500 paragraphs of a file, and by a tenth at 2,500: a
# file's first chunks get a head start and the workers read it themselves, where a stream's lines
# cross a pipe to them.
PARALLEL_MIN_BYTES = 500_000
PARALLEL_MIN_CHUNKS = 2  # of config.BATCH_SIZE lines: about 4,000 paragraphs
# The same for ``annotate --jsonl`` (draft posts, one a line; about 50 of the corpus's posts): a
# byte of a draft costs more than a byte of a paragraph, since each of its paragraphs is scored
# about three times, and two forked workers paid from about 60 drafts (whole commands).
ANNOTATE_PARALLEL_MIN_BYTES = 250_000
# Texts evaluate scores in parallel by default (the corpus is in memory: its size is known). Its
# workers start once the corpus is read and the model loaded; at 12,650 blocks a second process
# already took a tenth off the whole command.
PARALLEL_MIN_TEXTS = 10_000

# Chunks in flight per worker (one running, the next queued so it never waits for this process).
QUEUED_PER_WORKER = 2
# Results held for writing in order, per process, at most: what bounds memory when one chunk is slow.
HELD_PER_PROCESS = 8


class BatchError(ValueError):
    """A parallel run that cannot start; the message says what to do."""


def add_parallel_arguments(parser: argparse.ArgumentParser) -> None:
    """``--jobs N`` and ``--dask-scheduler ADDRESS``, for any command that scores many texts."""
    parser.add_argument("--jobs", type=int, default=None, metavar="N",
                        help="score in N processes, this one included (-1: one per core; 1: in this process only; "
                             "default: one per core when the input is large, else 1)")
    parser.add_argument("--dask-scheduler", metavar="ADDRESS",
                        help="score on the Dask cluster at ADDRESS (tcp://host:8786; needs the 'dask' extra)")


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="items done, rate and time left on stderr for runs over 2 s (default: when stderr "
                             "is a terminal)")


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def processes(jobs: int | None) -> int:
    """The processes ``jobs`` asks for: -1 and None (when large) mean one per usable core."""
    if jobs is not None and (jobs == 0 or jobs < -1):
        raise BatchError(f"--jobs must be a positive number of processes or -1 (one per core), got {jobs}")
    return usable_cores() if jobs in (None, -1) else jobs


def is_parallel(jobs: int | None = 1, dask_scheduler: str | None = None, n_texts: int | None = None) -> bool:
    """Whether scoring leaves this process; ``jobs=None`` decides from ``n_texts``."""
    n = processes(jobs)
    if dask_scheduler:
        return True
    if jobs is None:
        return n > 1 and n_texts is not None and n_texts >= PARALLEL_MIN_TEXTS
    return n > 1


def auto_start(jobs: int | None, dask_scheduler: str | None, size: int | None,
               min_bytes: int | None = None) -> int | None:
    """After how many chunks scored here to start the workers: 0 at once, None never.

    ``size``: the input's size in bytes when it is a regular file, else None (a stream: start
    once ``PARALLEL_MIN_CHUNKS`` chunks have been read and more follow). ``min_bytes``: the size
    of a file from which workers pay (default ``PARALLEL_MIN_BYTES``, paragraphs for suggest).
    """
    if dask_scheduler:
        return 0
    if processes(jobs) < 2:
        return None
    if jobs is not None:
        return 0
    if size is None:
        return PARALLEL_MIN_CHUNKS
    return 0 if size >= (PARALLEL_MIN_BYTES if min_bytes is None else min_bytes) else None


# --------------------------------------------------------------------------------------------
# the library's calls

def suggest_chunks(model, chunks: Iterable[Sequence[str]], k: int | None = None, threshold: float | None = None,
                   explain: bool | int = False, jobs: int = 1, dask_scheduler: str | None = None,
                   model_dir: str | os.PathLike | None = None) -> Iterator[list[list[dict]]]:
    """``model.suggest`` of each chunk of texts, yielded in chunk order as chunks complete.

    ``chunks`` is read lazily (a few chunks ahead of the workers), so an archive of any size
    streams through. ``model_dir``: the folder ``model`` was loaded from, which local workers
    then load it from. The options are checked here, before any work is sent out.
    """
    model.suggest(["確認"], k=k, threshold=threshold)  # bad k or threshold: fail now, not in a worker
    options = {"k": k, "threshold": threshold, "explain": explain}
    tasks = ((list(chunk), options) for chunk in chunks)
    start = 0 if is_parallel(jobs, dask_scheduler) else None
    yield from map_ordered(_suggest_chunk, tasks, model, jobs=jobs, dask_scheduler=dask_scheduler,
                           model_dir=model_dir, start_after=start)


def suggest(model, texts: Iterable[str], chunk_size: int = BATCH_SIZE, **options) -> Iterator[list[dict]]:
    """The suggestions of each text, in input order: ``suggest_chunks`` over chunks of ``texts``."""
    for results in suggest_chunks(model, chunked(texts, chunk_size), **options):
        yield from results


def decide(model, texts: Sequence[str], k: int | None = None, threshold: float | None = None,
           jobs: int | None = 1, dask_scheduler: str | None = None, model_dir: str | os.PathLike | None = None,
           chunk_size: int = BATCH_SIZE, progress: Callable[[int], None] | None = None):
    """``model.decide(texts, k, threshold)``, computed in parallel: for ``evaluate`` on a large corpus.

    ``jobs=None``: every core when there are ``PARALLEL_MIN_TEXTS`` texts or more, else this
    process. ``progress(n)`` is called after every chunk with its number of texts. Pass the
    result as ``decisions=`` to ``classifier.report.build_report`` (or ``evaluate.score``).
    """
    import numpy as np

    model.decide(["確認"], k, threshold)  # bad k or threshold: fail now, not in a worker
    if not len(texts):
        return model.decide([], k, threshold)
    start = 0 if is_parallel(jobs, dask_scheduler, len(texts)) else None
    parts = []
    for probabilities, kept in map_ordered(_decide_chunk, ((chunk, k, threshold) for chunk in chunked(texts, chunk_size)),
                                           model, jobs=jobs, dask_scheduler=dask_scheduler, model_dir=model_dir,
                                           start_after=start):
        parts.append((probabilities, kept))
        if progress:
            progress(len(probabilities))
    return np.vstack([p for p, _ in parts]), np.vstack([kept for _, kept in parts])


def chunked(items: Iterable, size: int) -> Iterator[list]:
    if size < 1:
        raise BatchError(f"chunk size must be at least 1, got {size}")
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


# --------------------------------------------------------------------------------------------
# chunks in order over this process and its workers

def map_ordered(function: Callable, tasks: Iterable[tuple], model, *, jobs: int | None = 1,
                dask_scheduler: str | None = None, model_dir=None, start_after: int | None = 0,
                keep_workers: bool = True) -> Iterator:
    """``function(model, *task)`` of every task, yielded in task order.

    ``start_after``: tasks done in this process before workers are started (None: never; the
    whole run stays in this process). Tasks are taken from ``tasks`` only as there is room for
    them: at most ``QUEUED_PER_WORKER`` per worker in flight and ``HELD_PER_PROCESS`` per process
    held for writing, so memory does not grow with the input. ``keep_workers=False``: stop the
    local workers at the end (a command's one run) rather than keep them for the next call.
    """
    tasks = iter(tasks)
    if start_after is None:
        for task in tasks:
            yield function(model, *task)
        return
    for task in islice(tasks, start_after):
        yield function(model, *task)
    first = next(tasks, None)
    if first is None:
        return
    tasks = _prepend(first, tasks)
    with _workers(model, jobs, dask_scheduler, model_dir, keep_workers) as (submit, ready, n_workers, here):
        window = QUEUED_PER_WORKER * n_workers
        held = window + HELD_PER_PROCESS * (n_workers + here)
        pending: deque = deque()  # (future or None, value)
        remote = 0
        for task in tasks:
            while pending and (pending[0][0] is None or pending[0][0].done()):
                future, value = pending.popleft()
                if future is not None:
                    remote -= 1
                    value = future.result()
                yield value
            # Until a worker has started (half a second: the model), this process scores chunks
            # itself, so a short input never waits for one; from then on it only reads and writes.
            up = ready()
            if remote < window and (up or not here):
                pending.append((submit(function, task), None))
                remote += 1
            elif here and not up and len(pending) < held:
                pending.append((None, function(model, *task)))
            else:
                # every worker has its chunks and this process holds as much as it may: wait
                future, value = pending.popleft()
                if future is not None:
                    remote -= 1
                    value = future.result()
                yield value
                pending.append((submit(function, task), None))
                remote += 1
        while pending:
            future, value = pending.popleft()
            yield value if future is None else future.result()


def _prepend(first, rest):
    yield first
    yield from rest


@contextlib.contextmanager
def _workers(model, jobs: int | None, dask_scheduler: str | None, model_dir, keep: bool = True):
    """(submit(function, task) -> future, whether a worker is ready, the number of workers, whether
    this process scores too)."""
    if dask_scheduler:
        client = _dask_client(dask_scheduler)
        try:
            [handle] = client.scatter([model], broadcast=True)
            n_workers = sum(client.nthreads().values()) or 1
            if jobs not in (None, -1):
                n_workers = min(n_workers, processes(jobs))

            def submit(function, task):
                return client.submit(_run, handle, function, task, pure=False)

            yield submit, lambda: True, n_workers, False
        finally:
            client.close()
        return
    if forks_workers(dask_scheduler):
        with _forked_workers(model, processes(jobs)) as workers:
            yield workers
        return
    from joblib.externals.loky import get_reusable_executor

    # A worker per core: once they are up, this process only reads the input and writes the
    # output (scoring here too, its lines would wait on the GIL with the executor's threads).
    n_workers = processes(jobs)
    with contextlib.ExitStack() as stack:
        if model_dir is None:
            import joblib

            # An in-memory model: one temporary copy on disk that every worker loads once.
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="hashtag-batch-"))
            path = os.path.join(folder, "model.joblib")
            joblib.dump(model, path)
            handle = ("file", path, None)
        else:
            from .persist import read_metadata

            # The artifact's hash is part of the handle: a worker kept from an earlier run never
            # serves an older model of the same folder.
            folder = os.path.realpath(model_dir)
            handle = ("folder", folder, read_metadata(folder).get("artifact_sha256"))
        executor = get_reusable_executor(max_workers=n_workers, timeout=60)
        # each worker loads the model before it is given any chunk
        started = [executor.submit(_run, handle, _ready, ()) for _ in range(n_workers)]

        def submit(function, task):
            return executor.submit(_run, handle, function, task)

        def ready():
            return any(future.done() for future in started)

        yield submit, ready, n_workers, True
        if not keep or not all(future.done() for future in started):
            # A command's last run, or the input ended before a worker was up (it never scored a
            # chunk): stop the workers now rather than let this process wait for them on its way out.
            executor.shutdown(wait=False, kill_workers=True)


def forks_workers(dask_scheduler: str | None) -> bool:
    """Whether a run's workers are forked from this process (``_workers``), sharing its memory
    and its open files (``suggest_lines.FileRange``)."""
    return not dask_scheduler and can_fork()


_inherited: dict[int, object] = {}  # the models of the runs in progress, for the workers forked from this process
_run_numbers = count()


@contextlib.contextmanager
def _forked_workers(model, n_workers: int):
    """Workers forked from this process, which start with the model and the imports scoring needs
    already in memory: a fork takes milliseconds, where a fresh interpreter takes about half a
    second to import them and load the model. The pool forks all its workers on the first
    submit, before it starts its own thread. They are forked with this process's objects frozen
    (``forking.frozen_objects``) and keep the memory they free (``forking.start_worker``)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    key = next(_run_numbers)
    _inherited[key] = model
    executor = ProcessPoolExecutor(n_workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=start_worker)
    try:
        # The first submit forks the workers, then starts the pool's thread, through which
        # shutdown stops them: a Ctrl-C between the two would leave workers that nothing stops,
        # and this process waiting for them at exit. It is held back until both are done.
        with interrupts_held(), frozen_objects():
            executor.submit(_run_inherited, key, _ready, ())

        def submit(function, task):
            return executor.submit(_run_inherited, key, function, task)

        yield submit, lambda: True, n_workers, False
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        _inherited.pop(key, None)


def _run_inherited(key: int, function, task):
    return function(_inherited[key], *task)


def _dask_client(address: str):
    try:
        from distributed import Client
    except ImportError:
        raise BatchError("--dask-scheduler needs Dask's distributed scheduler: "
                         "pip install 'hashtag-classifier[dask]'") from None
    try:
        return Client(address, timeout=DASK_CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise BatchError(f"cannot reach the Dask scheduler at {address}: {error}") from None


@functools.lru_cache(maxsize=2)
def _load(kind: str, path: str, sha256: str | None = None):
    """In a worker process: the model, loaded on the first task and kept for the next ones."""
    if kind == "folder":
        from .persist import load_model

        model, metadata = load_model(path)
        if metadata.get("artifact_sha256") != sha256:
            raise BatchError(f"the model in {path} was replaced during the run; run again")
        return model
    import joblib

    return joblib.load(path)


def _run(handle, function, task):
    model = _load(*handle) if isinstance(handle, tuple) else handle
    return function(model, *task)


def _ready(model) -> bool:
    return True


def _suggest_chunk(model, texts: list[str], options: dict) -> list[list[dict]]:
    return model.suggest(texts, **options)


def _decide_chunk(model, texts: list[str], k, threshold):
    return model.decide(texts, k, threshold)
