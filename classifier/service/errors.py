"""Every error answer as JSON ``{"error": {"code", "message"}}``: ours, HTTP ones and the unexpected."""
from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type",
               400: "bad_request"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str):
    return jsonify({"error": {"code": code, "message": message}}), status


def _api_error(error: ApiError):
    return error_response(error.status, error.code, error.message)


def _http_error(error: HTTPException):
    status = error.code or 500
    message = {
        404: f"no route {request.path}; see /openapi.json",
        405: f"{request.method} is not allowed on {request.path}",
        413: f"request body is larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes",
    }.get(status, error.description or error.name)
    response, status = error_response(status, _HTTP_CODES.get(status, "http_error"), message)
    if status == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response, status


def _unexpected_error(error: Exception):
    log.exception("unexpected error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "the server failed on this request; it has been logged")


def init_app(app: Flask) -> None:
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
