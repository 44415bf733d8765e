"""POST /feedback: the tags a person chose for a text, stored for the next training."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, jsonify

from . import validation
from .feedback_store import feedback_store
from .model_holder import model_holder

bp = Blueprint("feedback", __name__)


@bp.post("/feedback")
def feedback():
    body = validation.json_body()
    validation.refuse_unknown_fields(body, validation.FEEDBACK_FIELDS, "text, tags, post_tags")
    record = {"text": validation.check_text(body.get("text"), "'text'")}
    record["tags"] = validation.tags(body.get("tags"), "tags")
    record["post_tags"] = validation.tags(body.get("post_tags", []), "post_tags")
    loaded = model_holder().current
    record["received"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    record["model"] = loaded.version if loaded else None
    feedback_store().append(record)
    return jsonify({"stored": True, "record": record}), 201
