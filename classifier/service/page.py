"""The web page (GET /) and the API's OpenAPI document (GET /openapi.json)."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, jsonify

from .openapi import openapi_document

bp = Blueprint("page", __name__)
PAGE = Path(__file__).with_name("static") / "index.html"


@bp.get("/")
def index():
    return current_app.response_class(PAGE.read_bytes(), mimetype="text/html")


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(current_app.config))
