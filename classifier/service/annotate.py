"""POST /annotate: a draft post in, its blocks with their tags and drafted tag lines out."""
from __future__ import annotations

from flask import Blueprint, jsonify

from ..annotate import annotate as annotate_draft
from . import validation
from .errors import ApiError
from .model_holder import current_model

bp = Blueprint("annotate", __name__)

ANNOTATE_FIELDS = ("text", "k")


@bp.post("/annotate")
def annotate():
    body = validation.json_body()
    validation.refuse_unknown_fields(body, ANNOTATE_FIELDS, "text, k")
    text = validation.check_text(body.get("text"), "'text'")
    k = validation.options({"k": body.get("k")})["k"]
    loaded = current_model()
    try:
        draft = annotate_draft(loaded.model, text, k=k)
    except ValueError as error:  # a draft the blog format cannot read (a tag line before any paragraph)
        raise ApiError(400, "invalid_draft", f"'text' is not a readable draft: {error}") from None
    return jsonify({"model": loaded.version, **draft.to_json()})
