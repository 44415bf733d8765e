"""Checks of request bodies: each failure is an ApiError whose message says what to fix."""
from __future__ import annotations

import json

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from ..corpus import has_lone_surrogate, parse_json
from .errors import ApiError

SUGGEST_FIELDS = ("text", "texts", "k", "threshold", "explain")
FEEDBACK_FIELDS = ("text", "tags", "post_tags", "shown")
MAX_TAG_CHARS = 100


def json_body() -> dict:
    """The request's JSON object; 415 unless sent as JSON, 413 for a chunked body over the cap."""
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
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "invalid_json", "the body is not valid UTF-8") from None
    try:
        body = parse_json(text)
    except ValueError as error:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", f"the body must be a JSON object, got {type(body).__name__}")
    return body


def refuse_unknown_fields(body: dict, fields: tuple[str, ...], expected: str) -> None:
    unknown = sorted(set(body) - set(fields))
    if unknown:
        raise ApiError(400, "invalid_request", f"unknown fields {unknown}; expected {expected}")


def check_text(value, where: str) -> str:
    limit = current_app.config["MAX_TEXT_CHARS"]
    if not isinstance(value, str):
        raise ApiError(400, "invalid_text", f"{where} must be a string, got {json_type(value)}")
    if not value.strip():
        raise ApiError(400, "empty_text", f"{where} is empty or only whitespace")
    if len(value) > limit:
        raise ApiError(400, "text_too_long", f"{where} has {len(value)} characters; the limit is {limit}")
    if has_lone_surrogate(value):
        raise ApiError(400, "invalid_text", f"{where} contains a lone surrogate (not valid Unicode text)")
    return value


def json_type(value) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null",
            int: "number", float: "number"}.get(type(value), type(value).__name__)


def texts(body: dict) -> list[str]:
    """The texts of a suggest request: exactly one of 'text' or 'texts'."""
    if ("text" in body) == ("texts" in body):
        raise ApiError(400, "invalid_request", "send exactly one of 'text' (a string) or 'texts' (a list of strings)")
    if "text" in body:
        return [check_text(body["text"], "'text'")]
    items = body["texts"]
    limit = current_app.config["MAX_TEXTS"]
    if not isinstance(items, list):
        raise ApiError(400, "invalid_request", f"'texts' must be a list of strings, got {json_type(items)}")
    if not items:
        raise ApiError(400, "empty_text", "'texts' is an empty list")
    if len(items) > limit:
        raise ApiError(400, "too_many_texts", f"'texts' has {len(items)} items; the limit is {limit} per request")
    return [check_text(text, f"'texts[{i}]'") for i, text in enumerate(items)]


def options(body: dict) -> dict:
    """k, threshold and explain of a suggest request, as ``HashtagModel.suggest`` takes them."""
    refuse_unknown_fields(body, SUGGEST_FIELDS, "text or texts, k, threshold, explain")
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


def tags(value, field: str) -> list[str]:
    """A feedback record's 'tags' or 'post_tags': a short list of hashtags, each '#' and then at
    most 99 characters without whitespace (the form the blog writes and the corpus readers read)."""
    if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
        raise ApiError(400, "invalid_tags", f"'{field}' must be a list of hashtags (strings), got "
                                            f"{json.dumps(value)[:200]}")
    limit = current_app.config["MAX_TAGS_PER_FEEDBACK"]
    if len(value) > limit:
        raise ApiError(400, "invalid_tags", f"'{field}' has {len(value)} tags; the limit is {limit}")
    for tag in value:
        if has_lone_surrogate(tag):
            raise ApiError(400, "invalid_tags", f"'{field}' holds a lone surrogate (not valid Unicode text)")
        problem = tag_problem(tag)
        if problem:
            raise ApiError(400, "invalid_tags", f"{json.dumps(tag, ensure_ascii=False)[:120]} in '{field}' is not a "
                                                f"hashtag: {problem}")
    return list(dict.fromkeys(value))


def tag_problem(tag: str) -> str | None:
    """Why ``tag`` is not a well-formed hashtag, or None."""
    if not tag.startswith("#") or len(tag) < 2:
        return "a tag is '#' followed by its name, e.g. #日銀"
    if any(character.isspace() for character in tag):
        return "a tag has no spaces or other whitespace"
    if len(tag) > MAX_TAG_CHARS:
        return f"a tag has at most {MAX_TAG_CHARS} characters"
    return None


def shown(value) -> list[dict] | None:
    """The suggestions the page showed with the text (optional): [{"tag", "score"}, …]."""
    if value is None:
        return None
    limit = current_app.config["MAX_K"]
    if not isinstance(value, list) or len(value) > limit:
        raise ApiError(400, "invalid_shown", f"'shown' must be a list of at most {limit} suggestions")
    items = []
    for item in value:
        if not isinstance(item, dict) or set(item) - {"tag", "score"} or not isinstance(item.get("tag"), str):
            raise ApiError(400, "invalid_shown", "each of 'shown' must be an object with 'tag' and optionally 'score'")
        score = item.get("score")
        if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))
                                  or not 0 <= score <= 1):
            raise ApiError(400, "invalid_shown", f"a 'score' in 'shown' must be a number from 0 to 1, got "
                                                 f"{json.dumps(score)}")
        if len(item["tag"]) > MAX_TAG_CHARS or has_lone_surrogate(item["tag"]):
            raise ApiError(400, "invalid_shown", f"a 'tag' in 'shown' must be text of at most {MAX_TAG_CHARS} "
                                                 f"characters")
        items.append({"tag": item["tag"], "score": score})
    return items
