"""The model this process serves, kept in ``app.extensions``; a reload swaps it whole.

Without a configured folder the holder loads the model in use (``config.model_in_use()``: the
promoted ``models/current``, else ``models/default``), decided again at every load, so a service
started before the first promotion serves the promoted model after a reload.

Under gunicorn each worker process holds its own model, and ``POST /admin/reload`` reaches one
of them. ``share_reloads_between_processes()``, called by ``serve`` before the workers fork,
makes a reload counter in shared memory: the worker that reloads counts up, and every other
worker, on its next request, sees the count has moved and loads the model too (one thread per
worker loads; its other threads wait for it). No worker restarts and no request is refused.
"""
from __future__ import annotations

import gc
import logging
import os
import threading
from dataclasses import dataclass

from flask import Flask, current_app

from .. import config
from ..scorer import Scoring
from ..persist import ModelLoadError, load_model, model_version
from .errors import ApiError

log = logging.getLogger(__name__)

EXTENSION = "hashtag_model"


@dataclass(frozen=True)
class LoadedModel:
    model: Scoring
    metadata: dict
    version: str


# The reload counter shared by the processes of one server (None: reloads stay in this process).
_shared_reloads = None


def share_reloads_between_processes() -> None:
    """Make the reload counter the worker processes forked after this call share."""
    global _shared_reloads
    if _shared_reloads is None:
        import multiprocessing

        _shared_reloads = multiprocessing.Value("Q", 0)


class ModelHolder:
    """The current model of this process, or the reason there is none."""

    def __init__(self, directory: str | None, shared=None):
        self.directory = directory
        self.current: LoadedModel | None = None
        self.error: str | None = None
        self._lock = threading.Lock()
        self._shared = shared
        self._seen = self._shared_count()

    def _shared_count(self) -> int:
        return self._shared.get_obj().value if self._shared is not None else 0

    def load(self) -> LoadedModel:
        """Load the configured folder; on failure keep the previous model and say why in ``error``."""
        with self._lock:
            return self._load()

    def announce(self) -> None:
        """Tell the other worker processes that the model was reloaded: they load it on their next request."""
        if self._shared is not None:
            with self._shared.get_lock():
                self._shared.value += 1
                self._seen = self._shared.value

    def follow_reloads(self) -> None:
        """Load the model again when another worker has reloaded since this one last loaded."""
        if self._shared is None or self._shared_count() == self._seen:
            return
        # One thread loads; the others of this process wait for it rather than answer with the
        # old model, so that once /admin/reload has answered, every request that starts after it
        # is answered by the new model, whichever worker takes it.
        with self._lock:
            target = self._shared_count()
            if target == self._seen:
                return  # loaded by another thread meanwhile
            try:
                self._load()
            except ModelLoadError:
                log.error("reload asked by another worker failed; still serving the previous model: %s", self.error)
            self._seen = target

    def _load(self) -> LoadedModel:
        directory = self.directory or str(config.model_in_use())
        try:
            model, metadata = load_model(directory)
        except ModelLoadError as error:
            self.error = _without_paths(str(error), directory)
            raise
        except Exception as error:  # a pickle from elsewhere can fail in many ways
            self.error = f"the model could not be loaded ({type(error).__name__}); retrain with `python train.py`"
            log.exception("loading the model failed")
            raise ModelLoadError(self.error) from error
        loaded = LoadedModel(model, metadata, model_version(metadata))
        self.current, self.error = loaded, None  # one assignment: readers see old or new
        # Frozen, the model's many long-lived objects are never scanned by a full GC (a 10-25 ms stall).
        gc.collect()
        gc.freeze()
        return loaded

    def get(self) -> LoadedModel:
        loaded = self.current
        if loaded is None:
            raise ApiError(503, "model_unavailable", f"no model is loaded: {self.error or 'not loaded yet'}")
        return loaded


def _without_paths(message: str, directory) -> str:
    return message.replace(os.path.realpath(directory), "<model dir>").replace(str(directory), "<model dir>")


def init_app(app: Flask) -> None:
    holder = ModelHolder(app.config["MODEL_DIR"], _shared_reloads)
    app.extensions[EXTENSION] = holder
    app.before_request(holder.follow_reloads)
    try:
        holder.load()
    except ModelLoadError as error:
        # Start anyway: /readyz says why, /suggest answers 503, /admin/reload can recover.
        log.error("service starting without a model: %s", error)


def model_holder() -> ModelHolder:
    return current_app.extensions[EXTENSION]


def current_model() -> LoadedModel:
    """The model to answer this request with, or a 503 ApiError."""
    return model_holder().get()
