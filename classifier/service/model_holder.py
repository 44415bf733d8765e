"""The model this process serves, kept in ``app.extensions``; a reload swaps it whole."""
from __future__ import annotations

import gc
import logging
import os
import threading
from dataclasses import dataclass

from flask import Flask, current_app

from ..model import HashtagModel
from ..persist import ModelLoadError, load_model, model_version
from .errors import ApiError

log = logging.getLogger(__name__)

EXTENSION = "hashtag_model"


@dataclass(frozen=True)
class LoadedModel:
    model: HashtagModel
    metadata: dict
    version: str


class ModelHolder:
    """The current model of this process, or the reason there is none."""

    def __init__(self, directory: str):
        self.directory = directory
        self.current: LoadedModel | None = None
        self.error: str | None = None
        self._lock = threading.Lock()

    def load(self) -> LoadedModel:
        """Load the configured folder; on failure keep the previous model and say why in ``error``."""
        with self._lock:
            directory = self.directory
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
    holder = ModelHolder(app.config["MODEL_DIR"])
    app.extensions[EXTENSION] = holder
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
