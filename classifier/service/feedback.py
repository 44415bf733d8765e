"""POST /feedback: the tags a person chose for a text, queued for review (not yet training data).

A record is stored as ``pending`` with the suggestions the page showed, the model version, the
time and the client's address. Tags must be well-formed hashtags; tags the model does not know
are kept and listed in ``new_tags`` for the reviewer, who accepts or rejects the record
(``admin_feedback``, ``python -m classifier feedback``). Only accepted records are exported
for training.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, jsonify, request

from . import validation
from .feedback_store import FeedbackUnavailable, feedback_store, unavailable
from .model_holder import model_holder

bp = Blueprint("feedback", __name__)


@bp.post("/feedback")
def feedback():
    body = validation.json_body()
    validation.refuse_unknown_fields(body, validation.FEEDBACK_FIELDS, "text, tags, post_tags, shown")
    record = {"text": validation.check_text(body.get("text"), "'text'")}
    record["tags"] = validation.tags(body.get("tags"), "tags")
    record["post_tags"] = validation.tags(body.get("post_tags", []), "post_tags")
    record["shown"] = validation.shown(body.get("shown"))
    loaded = model_holder().current
    known = set(loaded.model.classes_) if loaded else set()
    record["new_tags"] = [tag for tag in dict.fromkeys(record["tags"] + record["post_tags"]) if tag not in known]
    record["received"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    record["model"] = loaded.version if loaded else None
    record["client"] = request.remote_addr
    try:
        identifier = feedback_store().add(record)
    except FeedbackUnavailable as error:
        raise unavailable(error) from None
    return jsonify({"stored": True, "id": identifier, "status": "pending", "new_tags": record["new_tags"],
                    "model": record["model"]}), 201
