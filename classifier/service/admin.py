"""Behind a bearer token (off, 404, without one): POST /admin/reload loads the model in use
again without a restart; /admin/feedback… is the review queue of the feedback records."""
from __future__ import annotations

import hmac
import time

from flask import Blueprint, current_app, jsonify, request

from ..persist import ModelLoadError
from .errors import ApiError
from .feedback_store import STATUSES, FeedbackUnavailable, feedback_store, unavailable
from .model_holder import model_holder

bp = Blueprint("admin", __name__)


def require_admin_token() -> None:
    """404 when no token is configured (the route is off), 401 unless the request carries it."""
    token = current_app.config.get("ADMIN_TOKEN")
    if not token:
        raise ApiError(404, "not_found", f"no route {request.path} (the admin token is not configured)")
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {token}"
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <admin token>'")


@bp.post("/admin/reload")
def admin_reload():
    require_admin_token()
    holder = model_holder()
    previous = holder.current.version if holder.current else None
    started = time.perf_counter()
    try:
        loaded = holder.load()
    except ModelLoadError:
        # The model that was serving (if any) keeps serving.
        raise ApiError(409, "reload_failed", f"the new model could not be loaded: {holder.error}; "
                                             f"still serving {previous}") from None
    holder.announce()  # the server's other worker processes load it on their next request
    return jsonify({"reloaded": True, "previous": previous, "model": loaded.version,
                    "seconds": round(time.perf_counter() - started, 3)})


# --------------------------------------------------------------------------------------------
# the feedback review queue

MAX_LIST = 500
_LARGEST_ID = 2 ** 63 - 1  # SQLite's integers


def _whole_number(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(400, "invalid_request", f"'{name}' must be a whole number from {low} to {high}, got {raw!r}")
    return int(raw)


def _store_call(function, *args):
    try:
        return function(*args)
    except FeedbackUnavailable as error:
        raise unavailable(error) from None


@bp.get("/admin/feedback")
def admin_feedback_list():
    require_admin_token()
    status = request.args.get("status", "pending")
    if status not in (*STATUSES, "all"):
        raise ApiError(400, "invalid_request", f"'status' must be one of {', '.join(STATUSES)} or all, got {status!r}")
    limit = _whole_number("limit", 100, 1, MAX_LIST)
    after = _whole_number("after", 0, 0, _LARGEST_ID)
    store = feedback_store()
    records = _store_call(store.list, None if status == "all" else status, limit, after)
    return jsonify({"counts": _store_call(store.counts), "records": records})


def _record_id(identifier: int) -> int:
    if identifier < 1 or identifier > _LARGEST_ID:
        raise ApiError(404, "not_found", f"no feedback record {identifier}")
    return identifier


@bp.get("/admin/feedback/<int:identifier>")
def admin_feedback_show(identifier: int):
    require_admin_token()
    record = _store_call(feedback_store().get, _record_id(identifier))
    if record is None:
        raise ApiError(404, "not_found", f"no feedback record {identifier}")
    return jsonify(record)


@bp.post("/admin/feedback/<int:identifier>/accept")
def admin_feedback_accept(identifier: int):
    """Accept a record, and with it the tags the model does not know: it is exported for training."""
    return _review(identifier, "accepted")


@bp.post("/admin/feedback/<int:identifier>/reject")
def admin_feedback_reject(identifier: int):
    return _review(identifier, "rejected")


def _review(identifier: int, status: str):
    require_admin_token()
    try:
        [record] = _store_call(feedback_store().review, [_record_id(identifier)], status)
    except KeyError:
        raise ApiError(404, "not_found", f"no feedback record {identifier}") from None
    return jsonify(record)
