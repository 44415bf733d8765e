"""Liveness and readiness: GET /healthz, GET /readyz."""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify

from ..persist import PROBE_TEXT
from .model_holder import model_holder

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    holder = model_holder()
    loaded = holder.current
    if loaded is None:
        return jsonify({"ready": False, "reason": holder.error or "no model loaded"}), 503
    try:
        loaded.model.suggest([PROBE_TEXT], threshold=0, k=1)
    except Exception as error:  # loaded but unusable: say so rather than serve
        log.exception("the loaded model failed its readiness check")
        return jsonify({"ready": False, "reason": f"the model fails to score text ({type(error).__name__})"}), 503
    return jsonify({"ready": True, "model": loaded.version})
