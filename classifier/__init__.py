"""Hashtag suggestions for Japanese news paragraphs, learned from a curator's blog posts.

The public API::

    from classifier import load_corpus, HashtagModel, train, load_model, save_model, Tokenizer, create_app

``load_model`` gives a ``Scorer`` (``classifier.scorer``): a fitted model's arrays, which score
text without scikit-learn. Names are imported on first use, so that ``python -m classifier
suggest`` does not pay for scikit-learn and a script that only reads corpora does not pay for
Flask.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "load_corpus": "corpus",
    "Tokenizer": "text",
    "HashtagModel": "model",
    "Scorer": "scorer",
    "load_model": "persist",
    "save_model": "persist",
    "train": "training",
    "create_app": "service",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'classifier' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


def __dir__():
    return __all__
