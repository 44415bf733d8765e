"""The HTTP service: a Flask application factory, its JSON API and the web page.

The model is loaded once per process when the app is created and shared read-only by the
threads; ``/admin/reload`` swaps in a new one, and a request that already holds the old one
finishes with it. Every error is JSON ``{"error": {"code", "message"}}`` with a 4xx status
for bad input; nothing answers with an HTML page or a traceback.
"""
from __future__ import annotations

import errno
import fcntl
import gc
import hmac
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from flask import Blueprint, Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .model import METADATA_FILE, HashtagModel, ModelLoadError, load_model
from .openapi import openapi_document

log = logging.getLogger(__name__)

DEFAULTS = {
    "MODEL_DIR": "models/default",
    "FEEDBACK_PATH": "training_data/feedback.jsonl",
    "ADMIN_TOKEN": None,  # None or "": /admin/reload is off
    "MAX_TEXTS": 256,  # texts per /suggest request
    "MAX_TEXT_CHARS": 20_000,  # characters per text
    "MAX_K": 50,
    "MAX_TAGS_PER_FEEDBACK": 20,
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,  # bytes per request body (Flask answers 413 above it)
}

# Environment variables that configure the service (documented in the README).
ENVIRONMENT = {
    "HASHTAG_MODEL_DIR": "MODEL_DIR",
    "HASHTAG_FEEDBACK_PATH": "FEEDBACK_PATH",
    "HASHTAG_ADMIN_TOKEN": "ADMIN_TOKEN",
    "HASHTAG_MAX_TEXTS": "MAX_TEXTS",
    "HASHTAG_MAX_TEXT_CHARS": "MAX_TEXT_CHARS",
    "HASHTAG_MAX_BODY_BYTES": "MAX_CONTENT_LENGTH",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class LoadedModel:
    model: HashtagModel
    metadata: dict
    version: str


class ModelHolder:
    """The current model of this process, or the reason there is none."""

    def __init__(self, directory: str):
        self.directory = directory
        self.current: LoadedModel | None = None
        self.error: str | None = None
        self._lock = threading.Lock()

    def load(self) -> LoadedModel:
        with self._lock:
            directory = resolve_model_dir(self.directory)
            try:
                refuse_artifact_outside(directory)
                model, metadata = load_model(directory)
                check_scores(model)
            except ModelLoadError as error:
                self.error = _without_paths(str(error), directory)
                raise
            except Exception as error:  # a pickle from elsewhere can fail in many ways
                self.error = f"the model could not be loaded ({type(error).__name__}); retrain with `python train.py`"
                log.exception("loading the model failed")
                raise ModelLoadError(self.error) from error
            loaded = LoadedModel(model, metadata, model_version(metadata))
            self.current, self.error = loaded, None  # one assignment: readers see old or new
            # The model is tens of thousands of long-lived objects (vocabulary, feature index).
            # Left to the cyclic garbage collector, every full collection walks them all and
            # stalls the request that triggered it by 10-25 ms; frozen, they are never scanned
            # (in-process p99.9 of one-paragraph suggest: 9.3 ms -> 0.65 ms).
            gc.collect()
            gc.freeze()
            return loaded

    def get(self) -> LoadedModel:
        loaded = self.current
        if loaded is None:
            raise ApiError(503, "model_unavailable", f"no model is loaded: {self.error or 'not loaded yet'}")
        return loaded


def resolve_model_dir(directory: str) -> str:
    """The model folder itself. MODEL_DIR may be a pointer (``models/current``, a link that
    ``python -m classifier promote`` swaps): it is followed once per load, so the metadata and the
    artifact come from one folder even if a promotion swaps the link in between."""
    return os.path.realpath(directory)


def refuse_artifact_outside(directory) -> None:
    """Refuse a ``metadata.json`` whose artifact is not a plain file of the model folder.

    ``load_model`` joins the folder and the artifact name it reads from the metadata; a name
    such as ``../x.joblib`` or ``/tmp/x.joblib`` (or a link leading out of the folder) would make
    it unpickle a file from elsewhere. Models are loaded from the configured folder only.
    """
    path = Path(directory) / METADATA_FILE
    try:
        name = json.loads(path.read_text(encoding="utf-8")).get("artifact")
    except (OSError, ValueError, AttributeError):
        return  # missing or unreadable metadata: load_model says why
    folder = Path(directory).resolve()
    if isinstance(name, str) and name and Path(name).name == name and (folder / name).resolve().parent == folder:
        return
    raise ModelLoadError("metadata.json names an artifact outside the model folder; refusing to load it: "
                         "retrain with `python train.py`")


def check_scores(model: HashtagModel) -> None:
    """Score one text before serving a model. A model pickled by an earlier version of this code
    (same library versions, so it passes their check) can load and still fail on every request."""
    try:
        model.suggest(["準備確認"], threshold=0, k=1)
    except Exception as error:
        log.exception("the loaded model fails to score text")
        raise ModelLoadError(f"the model loads but fails to score text ({type(error).__name__}): it was probably "
                             f"written by another version of this code; retrain with `python train.py`") from None


def model_version(metadata: dict) -> str:
    return f"{metadata.get('created', 'unknown')}/{str(metadata.get('artifact_sha256', ''))[:12]}"


def _without_paths(message: str, directory: str) -> str:
    return message.replace(str(Path(directory).resolve()), "<model dir>").replace(str(directory), "<model dir>")


def configuration_from_environment(environ=os.environ) -> dict:
    config = {}
    for variable, key in ENVIRONMENT.items():
        if variable in environ:
            value = environ[variable]
            config[key] = int(value) if isinstance(DEFAULTS[key], int) else value
    return config


def create_app(test_config: dict | None = None) -> Flask:
    """Build the service. Configuration: defaults, then the environment, then ``test_config``."""
    app = Flask(__name__, static_folder=None)
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(configuration_from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    # Never debug mode: Flask turns it on from FLASK_DEBUG in the environment, even under gunicorn.
    app.debug = False
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    holder = ModelHolder(app.config["MODEL_DIR"])
    app.extensions["hashtag_model"] = holder
    app.extensions["feedback_store"] = FeedbackStore(app.config["FEEDBACK_PATH"])
    try:
        holder.load()
    except ModelLoadError as error:
        # Start anyway: /readyz says why, /suggest answers 503, /admin/reload can recover.
        log.error("service starting without a model: %s", error)

    app.register_blueprint(api)
    app.register_blueprint(page)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def get_model() -> LoadedModel:
    return current_app.extensions["hashtag_model"].get()


# --------------------------------------------------------------------------------------------
# errors

def _error(status: int, code: str, message: str):
    return jsonify({"error": {"code": code, "message": message}}), status


def _api_error(error: ApiError):
    return _error(error.status, error.code, error.message)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large", 415: "unsupported_media_type",
               400: "bad_request"}


def _http_error(error: HTTPException):
    status = error.code or 500
    message = {
        404: f"no route {request.path}; see /openapi.json",
        405: f"{request.method} is not allowed on {request.path}",
        413: f"request body is larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes",
    }.get(status, error.description or error.name)
    response, status = _error(status, _HTTP_CODES.get(status, "http_error"), message)
    if status == 405 and getattr(error, "valid_methods", None):
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response, status


def _unexpected_error(error: Exception):
    log.exception("unexpected error on %s %s", request.method, request.path)
    return _error(500, "internal_error", "the server failed on this request; it has been logged")


# --------------------------------------------------------------------------------------------
# request validation

def json_body() -> dict:
    if not request.mimetype or request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type",
                       f"send JSON with 'Content-Type: application/json', got {request.mimetype or 'none'!r}")
    raw = request.get_data(cache=True)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A chunked body is read up to the cap and silently cut there: refuse it rather than
        # parse what is left of it (a body with a Content-Length over the cap is refused earlier).
        raise RequestEntityTooLarge()
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "the body is not valid UTF-8") from None
    except json.JSONDecodeError as error:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {error.msg} at line {error.lineno} "
                                            f"column {error.colno}") from None
    except ValueError:  # a number of more than 4300 digits
        raise ApiError(400, "invalid_json", "the body holds a number too long to read") from None
    except RecursionError:
        raise ApiError(400, "invalid_json", "the body nests arrays or objects too deeply") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", f"the body must be a JSON object, got {type(body).__name__}")
    return body


def _check_text(value, where: str) -> str:
    limit = current_app.config["MAX_TEXT_CHARS"]
    if not isinstance(value, str):
        raise ApiError(400, "invalid_text", f"{where} must be a string, got {_json_type(value)}")
    if not value.strip():
        raise ApiError(400, "empty_text", f"{where} is empty or only whitespace")
    if len(value) > limit:
        raise ApiError(400, "text_too_long", f"{where} has {len(value)} characters; the limit is {limit}")
    if _has_surrogate(value):
        raise ApiError(400, "invalid_text", f"{where} contains a lone surrogate (not valid Unicode text)")
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_surrogate(value: str) -> bool:
    """JSON's ``\\ud800`` escapes decode to lone surrogates, which cannot be stored as UTF-8."""
    return _SURROGATE.search(value) is not None


def _json_type(value) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null",
            int: "number", float: "number"}.get(type(value), type(value).__name__)


def _texts(body: dict) -> list[str]:
    if ("text" in body) == ("texts" in body):
        raise ApiError(400, "invalid_request", "send exactly one of 'text' (a string) or 'texts' (a list of strings)")
    if "text" in body:
        return [_check_text(body["text"], "'text'")]
    texts = body["texts"]
    limit = current_app.config["MAX_TEXTS"]
    if not isinstance(texts, list):
        raise ApiError(400, "invalid_request", f"'texts' must be a list of strings, got {_json_type(texts)}")
    if not texts:
        raise ApiError(400, "empty_text", "'texts' is an empty list")
    if len(texts) > limit:
        raise ApiError(400, "too_many_texts", f"'texts' has {len(texts)} items; the limit is {limit} per request")
    return [_check_text(text, f"'texts[{i}]'") for i, text in enumerate(texts)]


def _options(body: dict) -> dict:
    unknown = sorted(set(body) - {"text", "texts", "k", "threshold", "explain"})
    if unknown:
        raise ApiError(400, "invalid_request", f"unknown fields {unknown}; expected text or texts, k, threshold, explain")
    k, threshold, explain = body.get("k"), body.get("threshold"), body.get("explain", False)
    max_k = current_app.config["MAX_K"]
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= max_k):
        raise ApiError(400, "invalid_k", f"'k' must be a whole number from 1 to {max_k}, got {json.dumps(k)}")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                  or not 0 <= threshold <= 1):
        raise ApiError(400, "invalid_threshold", f"'threshold' must be a number from 0 to 1 or null, "
                                                 f"got {json.dumps(threshold)}")
    if not isinstance(explain, bool):
        raise ApiError(400, "invalid_explain", f"'explain' must be true or false, got {json.dumps(explain)}")
    return {"k": k, "threshold": threshold, "explain": explain}


# --------------------------------------------------------------------------------------------
# API

api = Blueprint("api", __name__)


@api.post("/suggest")
def suggest():
    body = json_body()
    texts, options = _texts(body), _options(body)
    loaded = get_model()
    results = loaded.model.suggest(texts, **options)
    return jsonify({"model": loaded.version, "results": [{"suggestions": items} for items in results]})


@api.get("/tags")
def tags():
    loaded = get_model()
    described = loaded.metadata.get("tags", {})
    model = loaded.model
    return jsonify({"model": loaded.version, "tags": [
        {"tag": tag, "scope": model.scopes_[tag], "count": int(model.tag_counts_[tag]),
         "threshold": round(float(model.thresholds_[j]), 4),
         "held_out_f1": described.get(tag, {}).get("held_out_f1")}
        for j, tag in enumerate(model.classes_)]})


@api.get("/model")
def model_metadata():
    loaded = get_model()
    return jsonify({"version": loaded.version, **loaded.metadata})


@api.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@api.get("/readyz")
def readyz():
    holder: ModelHolder = current_app.extensions["hashtag_model"]
    loaded = holder.current
    if loaded is None:
        return jsonify({"ready": False, "reason": holder.error or "no model loaded"}), 503
    try:
        loaded.model.suggest(["準備確認"], threshold=0, k=1)
    except Exception as error:  # loaded but unusable: say so rather than serve
        log.exception("the loaded model failed its readiness check")
        return jsonify({"ready": False, "reason": f"the model fails to score text ({type(error).__name__})"}), 503
    return jsonify({"ready": True, "model": loaded.version})


@api.post("/feedback")
def feedback():
    body = json_body()
    unknown = sorted(set(body) - {"text", "tags", "post_tags"})
    if unknown:
        raise ApiError(400, "invalid_request", f"unknown fields {unknown}; expected text, tags, post_tags")
    text = _check_text(body.get("text"), "'text'")
    record = {"text": text}
    for field in ("tags", "post_tags"):
        value = body.get(field, [] if field == "post_tags" else None)
        if not isinstance(value, list) or not all(isinstance(tag, str) and tag.strip() for tag in value):
            raise ApiError(400, "invalid_tags", f"'{field}' must be a list of non-empty strings, got {json.dumps(value)}")
        if len(value) > current_app.config["MAX_TAGS_PER_FEEDBACK"]:
            raise ApiError(400, "invalid_tags", f"'{field}' has {len(value)} tags; the limit is "
                                                f"{current_app.config['MAX_TAGS_PER_FEEDBACK']}")
        if any(len(tag) > 100 or "\n" in tag for tag in value):
            raise ApiError(400, "invalid_tags", f"each of '{field}' must be one line of at most 100 characters")
        if any(_has_surrogate(tag) for tag in value):
            raise ApiError(400, "invalid_tags", f"'{field}' holds a lone surrogate (not valid Unicode text)")
        record[field] = [tag.strip() for tag in value]
    holder: ModelHolder = current_app.extensions["hashtag_model"]
    record["received"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    record["model"] = holder.current.version if holder.current else None
    current_app.extensions["feedback_store"].append(record)
    return jsonify({"stored": True, "record": record}), 201


@api.post("/admin/reload")
def admin_reload():
    token = current_app.config.get("ADMIN_TOKEN")
    if not token:
        raise ApiError(404, "not_found", "no route /admin/reload (the admin token is not configured)")
    given = request.headers.get("Authorization", "")
    expected = f"Bearer {token}"
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <admin token>'")
    holder: ModelHolder = current_app.extensions["hashtag_model"]
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


@api.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(current_app.config))


# --------------------------------------------------------------------------------------------
# feedback storage

class FeedbackStore:
    """Append-only JSON Lines, one record per line, safe across processes.

    Each record is written with one ``write`` on an ``O_APPEND`` descriptor under an exclusive
    ``flock`` and fsynced before the request is answered, so concurrent workers never
    interleave and an answered record survives a crash. A write that fails (disk full, file
    size limit, I/O error) is cut back off the file and answered 503: nothing half-written stays
    and nothing is answered as stored that is not.
    """

    # A record is at most a text, its tags and a few fields; a torn last line is looked for
    # within this many bytes of the end.
    TAIL_BYTES = 1 << 20

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def append(self, record: dict) -> None:
        line = _one_line(json.dumps(record, ensure_ascii=False)).encode("utf-8") + b"\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as error:
            raise _unavailable(error) from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            size = self._end_of_last_record(descriptor, os.fstat(descriptor).st_size)
            try:
                written = os.write(descriptor, line)
                if written != len(line):
                    raise OSError(errno.ENOSPC, "short write: the disk or the file size limit is full")
                os.fsync(descriptor)
            except OSError as error:
                # Leave no partial record behind: cut the file back to where it was.
                try:
                    os.ftruncate(descriptor, size)
                except OSError:
                    log.exception("could not cut a failed feedback write off %s", self.path)
                raise _unavailable(error) from None
        except OSError as error:  # the lock, the size or the repair failed
            raise _unavailable(error) from None
        finally:
            os.close(descriptor)

    def _end_of_last_record(self, descriptor: int, size: int) -> int:
        """The file's size once a torn last line, if any, is dealt with.

        Records are answered only when whole and fsynced, so a last line without its newline is
        a write cut short (a worker killed in the middle of it) that nobody was told was stored:
        it is cut off. A last line that is whole JSON (a hand edit without a final newline) is
        ended with a newline instead, so the next record never joins it.
        """
        if size == 0 or os.pread(descriptor, 1, size - 1) == b"\n":
            return size
        start = max(0, size - self.TAIL_BYTES)
        tail = os.pread(descriptor, size - start, start)
        cut = tail.rfind(b"\n") + 1
        if cut == 0 and start > 0:
            cut = len(tail)  # no line start in reach: keep it, on a line of its own
        try:
            whole = isinstance(json.loads(tail[cut:].decode("utf-8")), dict)
        except (ValueError, RecursionError):
            whole = False
        if whole or cut == len(tail):
            if os.write(descriptor, b"\n") != 1:
                raise OSError(errno.ENOSPC, "short write")
            return size + 1
        log.warning("cutting a torn feedback record (%d bytes, never acknowledged) off %s", len(tail) - cut, self.path)
        os.ftruncate(descriptor, start + cut)
        return start + cut


def _one_line(encoded: str) -> str:
    """JSON text with the line separators JSON leaves raw (U+0085, U+2028, U+2029) escaped, so
    a reader that splits lines on them still sees one record per line."""
    return encoded.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _unavailable(error: OSError) -> ApiError:
    reason = error.strerror or type(error).__name__
    return ApiError(503, "feedback_unavailable", f"feedback cannot be stored now ({reason}); "
                                                 f"nothing was saved, try again later")


# --------------------------------------------------------------------------------------------
# the web page

page = Blueprint("page", __name__)
_PAGE = Path(__file__).with_name("static") / "index.html"


@page.get("/")
def index():
    return current_app.response_class(_PAGE.read_bytes(), mimetype="text/html")
