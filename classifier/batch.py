"""Batch tagging of large archives: ``suggest`` and ``evaluate`` over many processes or a cluster.

Texts are cut into chunks and each chunk is scored by a joblib worker: processes on this machine
(``jobs``), or the workers of a Dask cluster (``dask_scheduler``, joblib's Dask backend; install
the ``dask`` extra). Results come back in input order, and a text's suggestions do not depend on
the other texts of its chunk, so the output is the single-process output.

The model travels once per worker, not once per chunk (its pickle is several MB, as much work as
a chunk's): local processes load it from its folder (or from a temporary copy of an in-memory
model) and keep it; a Dask cluster gets it scattered to its workers once.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import os
import tempfile
from collections import deque
from itertools import islice
from typing import Iterable, Iterator, Sequence

import numpy as np

from .config import BATCH_SIZE
from .model import HashtagModel
from .persist import load_model, read_metadata

DASK_CONNECT_TIMEOUT = "10s"


class BatchError(ValueError):
    """A parallel run that cannot start; the message says what to do."""


def add_parallel_arguments(parser: argparse.ArgumentParser) -> None:
    """``--jobs N`` and ``--dask-scheduler ADDRESS``, for any command that scores many texts."""
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="score in N worker processes (-1: one per core; default 1: in this process)")
    parser.add_argument("--dask-scheduler", metavar="ADDRESS",
                        help="score on the Dask cluster at ADDRESS (tcp://host:8786; needs the 'dask' extra)")


def is_parallel(jobs: int = 1, dask_scheduler: str | None = None) -> bool:
    if jobs == 0 or jobs < -1:
        raise BatchError(f"--jobs must be a positive number of processes or -1 (one per core), got {jobs}")
    return bool(dask_scheduler) or jobs != 1


def suggest_chunks(model: HashtagModel, chunks: Iterable[Sequence[str]], k: int | None = None,
                   threshold: float | None = None, explain: bool | int = False, jobs: int = 1,
                   dask_scheduler: str | None = None, model_dir: str | os.PathLike | None = None
                   ) -> Iterator[list[list[dict]]]:
    """``model.suggest`` of each chunk of texts, yielded in chunk order as chunks complete.

    ``chunks`` is read lazily (a few chunks ahead of the workers), so an archive of any size
    streams through. ``model_dir``: the folder ``model`` was loaded from, which local workers
    then load it from. The options are checked here, before any work is sent out.
    """
    model.suggest(["確認"], k=k, threshold=threshold)  # bad k or threshold: fail now, not in a worker
    options = {"k": k, "threshold": threshold, "explain": explain}
    if not is_parallel(jobs, dask_scheduler):
        for chunk in chunks:
            yield model.suggest(list(chunk), **options)
        return
    with _workers(model, jobs, dask_scheduler, model_dir) as (parallel, handle):
        yield from parallel(_delayed(_suggest_chunk)(handle, list(chunk), options) for chunk in chunks)


def suggest(model: HashtagModel, texts: Iterable[str], chunk_size: int = BATCH_SIZE, **options) -> Iterator[list[dict]]:
    """The suggestions of each text, in input order: ``suggest_chunks`` over chunks of ``texts``."""
    for results in suggest_chunks(model, chunked(texts, chunk_size), **options):
        yield from results


def decide(model: HashtagModel, texts: Sequence[str], k: int | None = None, threshold: float | None = None,
           jobs: int = 1, dask_scheduler: str | None = None, model_dir: str | os.PathLike | None = None,
           chunk_size: int = BATCH_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """``model.decide(texts, k, threshold)``, computed in parallel: for ``evaluate`` on a large corpus.

    Pass the result as ``decisions=`` to ``classifier.report.build_report`` (or ``evaluate.score``).
    """
    model.decide(["確認"], k, threshold)  # bad k or threshold: fail now, not in a worker
    if not is_parallel(jobs, dask_scheduler) or not len(texts):
        return model.decide(list(texts), k, threshold)
    with _workers(model, jobs, dask_scheduler, model_dir) as (parallel, handle):
        parts = list(parallel(_delayed(_decide_chunk)(handle, chunk, k, threshold)
                              for chunk in chunked(texts, chunk_size)))
    return np.vstack([p for p, _ in parts]), np.vstack([kept for _, kept in parts])


def chunked(items: Iterable, size: int) -> Iterator[list]:
    if size < 1:
        raise BatchError(f"chunk size must be at least 1, got {size}")
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def paired(items: Iterable, size: int, key=lambda item: item) -> tuple[Iterator[list], deque]:
    """Chunks of ``key(item)`` and a queue that holds each chunk's items until its results come.

    For callers that stream records (line numbers, ids) next to their texts: take the items of
    a chunk with ``queue.popleft()`` when its results arrive, in order.
    """
    queue: deque = deque()

    def keys():
        for chunk in chunked(items, size):
            queue.append(chunk)
            yield [key(item) for item in chunk]

    return keys(), queue


# --------------------------------------------------------------------------------------------
# workers

def _delayed(function):
    import joblib

    return joblib.delayed(function)


@contextlib.contextmanager
def _workers(model: HashtagModel, jobs: int, dask_scheduler: str | None, model_dir):
    """A joblib ``Parallel`` (results in order, as a generator) and what tasks receive as the model."""
    import joblib

    if dask_scheduler:
        client = _dask_client(dask_scheduler)
        try:
            n_jobs = jobs if jobs > 0 else -1
            with joblib.parallel_config(backend="dask", client=client, scatter=[model]):
                yield joblib.Parallel(n_jobs=n_jobs, return_as="generator"), model
        finally:
            client.close()
        return
    with contextlib.ExitStack() as stack:
        if model_dir is None:
            # An in-memory model: one temporary copy on disk that every worker loads once.
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="hashtag-batch-"))
            path = os.path.join(folder, "model.joblib")
            joblib.dump(model, path)
            handle = ("file", path)
        else:
            # The artifact's hash is part of the handle: a worker kept from an earlier run never
            # serves an older model of the same folder.
            folder = os.path.realpath(model_dir)
            handle = ("folder", folder, read_metadata(folder).get("artifact_sha256"))
        with joblib.parallel_config(backend="loky", n_jobs=jobs):
            yield joblib.Parallel(return_as="generator", pre_dispatch="2 * n_jobs"), handle


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
def _load(kind: str, path: str, sha256: str | None = None) -> HashtagModel:
    """In a worker process: the model, loaded on the first task and kept for the next ones."""
    if kind == "folder":
        model, metadata = load_model(path)
        if metadata.get("artifact_sha256") != sha256:
            raise BatchError(f"the model in {path} was replaced during the run; run again")
        return model
    import joblib

    return joblib.load(path)


def _resolve(handle) -> HashtagModel:
    return handle if isinstance(handle, HashtagModel) else _load(*handle)


def _suggest_chunk(handle, texts: list[str], options: dict) -> list[list[dict]]:
    return _resolve(handle).suggest(texts, **options)


def _decide_chunk(handle, texts: list[str], k, threshold) -> tuple[np.ndarray, np.ndarray]:
    return _resolve(handle).decide(texts, k, threshold)
