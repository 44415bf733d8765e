"""Suggestions and what the model knows: POST /suggest, GET /tags, GET /model."""
from __future__ import annotations

from flask import Blueprint, jsonify

from . import validation
from .model_holder import current_model

bp = Blueprint("suggest", __name__)


@bp.post("/suggest")
def suggest():
    body = validation.json_body()
    texts, options = validation.texts(body), validation.options(body)
    loaded = current_model()
    results = loaded.model.suggest(texts, **options)
    return jsonify({"model": loaded.version, "results": results})


@bp.get("/tags")
def tags():
    loaded = current_model()
    described = loaded.metadata.get("tags", {})
    model = loaded.model
    return jsonify({"model": loaded.version, "tags": [
        {"tag": tag, "scope": model.scopes_[tag], "count": int(model.tag_counts_[tag]),
         "threshold": round(float(model.thresholds_[j]), 4),
         "held_out_f1": described.get(tag, {}).get("held_out_f1")}
        for j, tag in enumerate(model.classes_)]})


@bp.get("/model")
def model_metadata():
    loaded = current_model()
    return jsonify({"version": loaded.version, **loaded.metadata})
