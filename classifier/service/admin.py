"""POST /admin/reload: load the newest model without a restart, behind a bearer token."""
from __future__ import annotations

import hmac
import time

from flask import Blueprint, current_app, jsonify, request

from ..persist import ModelLoadError
from .errors import ApiError
from .model_holder import model_holder

bp = Blueprint("admin", __name__)


def require_admin_token() -> None:
    """404 when no token is configured (the route is off), 401 unless the request carries it."""
    token = current_app.config.get("ADMIN_TOKEN")
    if not token:
        raise ApiError(404, "not_found", "no route /admin/reload (the admin token is not configured)")
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
    return jsonify({"reloaded": True, "previous": previous, "model": loaded.version,
                    "seconds": round(time.perf_counter() - started, 3)})
