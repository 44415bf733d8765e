"""The service's contract as an OpenAPI 3 document; the tests validate responses against it.

Built from small pieces: the paths (one function per group of routes), the request schemas
(which carry the configured limits) and the response schemas.
"""
from __future__ import annotations

from typing import Mapping

# "Not blank" as the service checks it (Python's str.strip()). Written out because JSON Schema's
# ECMA-262 \s differs from Python's: it leaves out U+001C-U+001F and U+0085 and adds U+FEFF, so a
# pattern of \S let schemathesis send "\u001d" as valid text, which the service refuses.
_WHITESPACE = r"\t-\r\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = rf"[^{_WHITESPACE}]"
ONE_LINE_NOT_BLANK = rf"^[^\n]*[^{_WHITESPACE}][^\n]*$"
# A hashtag as /feedback takes it: '#' and a name without whitespace (str.isspace()).
HASHTAG = rf"^#[^{_WHITESPACE}]+$"

OPENAPI_VERSION = "3.0.3"
INFO = {"title": "Hashtag suggestions for Japanese news", "version": "1.0.0",
        "description": "Suggests topic hashtags for Japanese news paragraphs. Errors are JSON "
                       "{\"error\": {\"code\", \"message\"}}."}
NO_MODEL = "No usable model is loaded."


def openapi_document(config: Mapping) -> dict:
    """The whole document for a service with this configuration (its limits show in the schemas)."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": dict(INFO),
        "paths": {**_suggest_paths(), **_annotate_paths(), **_service_paths(), **_write_paths()},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {**_suggest_schemas(config), **_annotate_schemas(config), **_service_schemas(),
                        **_feedback_schemas(config),
                        **_admin_and_error_schemas()},
        },
    }


# --------------------------------------------------------------------------------------------
# paths

def _error_response(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(schema_name: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}


def _json_body(schema_name: str) -> dict:
    return {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}


def _bad_input() -> dict:
    return _error_response("Bad input; the message says what to fix.")


def _suggest_paths() -> dict:
    """/suggest, /tags and /model."""
    return {
        "/suggest": {"post": {
            "summary": "Ranked hashtags for one text or many",
            "requestBody": _json_body("SuggestRequest"),
            "responses": {"200": _json("SuggestResponse", "One result per text, in input order."),
                          "400": _bad_input(), "413": _error_response("Body over the size limit."),
                          "415": _error_response("Not JSON."),
                          "503": _error_response(NO_MODEL)}}},
        "/tags": {"get": {"summary": "The tags the model knows, with training counts and held-out F1",
                          "responses": {"200": _json("TagsResponse", "Tags in the model's order."),
                                        "503": _error_response(NO_MODEL)}}},
        "/model": {"get": {"summary": "The loaded model's metadata",
                           "responses": {"200": {"description": "metadata.json of the model, with its version.",
                                                 "content": {"application/json": {"schema": {
                                                     "type": "object", "required": ["version"],
                                                     "properties": {"version": {"type": "string"}}}}}},
                                         "503": _error_response(NO_MODEL)}}},
    }


def _annotate_paths() -> dict:
    """/annotate."""
    return {
        "/annotate": {"post": {
            "summary": "A draft post in the blog format: its blocks, their ranked tags and drafted tag lines",
            "requestBody": _json_body("AnnotateRequest"),
            "responses": {"200": _json("AnnotateResponse", "The blocks in draft order, the post tags and the post "
                                                           "with its tag lines."),
                          "400": _error_response("Bad input; the message says what to fix. A draft the blog "
                                                 "format cannot read (a tag line before any paragraph) is "
                                                 "invalid_draft, with its line number."), "413": _error_response("Body over the size limit."),
                          "415": _error_response("Not JSON."),
                          "503": _error_response(NO_MODEL)}}},
    }


def _service_paths() -> dict:
    """/healthz and /readyz."""
    return {
        "/healthz": {"get": {"summary": "The process is alive",
                             "responses": {"200": _json("Health", "Always ok while the process answers.")}}},
        "/readyz": {"get": {"summary": "A model is loaded and scores text",
                            "responses": {"200": _json("Ready", "Ready to serve."),
                                          "503": _json("Ready", "Not ready; reason says why.")}}},
    }


def _write_paths() -> dict:
    """/feedback, /admin/reload and this document."""
    return {
        "/feedback": {"post": {
            "summary": "Queue the tags a person chose for a text for review (accepted records train the next model)",
            "requestBody": _json_body("FeedbackRequest"),
            "responses": {"201": _json("FeedbackResponse", "Stored durably, pending review."), "400": _bad_input(),
                          "413": _error_response("Body over the size limit."),
                          "415": _error_response("Not JSON."),
                          "503": _error_response("The store cannot be written; nothing was saved.")}}},
        "/admin/reload": {"post": {
            "summary": "Load the newest trained model without a restart",
            "security": [{"bearer": []}],
            "responses": {"200": _json("ReloadResponse", "The new model now answers."),
                          "401": _error_response("Missing or wrong token."),
                          "404": _error_response("Off: no admin token is configured."),
                          "409": _error_response("The new model could not be loaded; the old one keeps serving.")}}},
        **_review_paths(),
        "/openapi.json": {"get": {"summary": "This document",
                                  "responses": {"200": {"description": "OpenAPI 3 document.",
                                                        "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    }


def _admin_responses(ok: dict) -> dict:
    return {"200": ok, "401": _error_response("Missing or wrong token."),
            "404": _error_response("Off (no admin token is configured), or no such record."),
            "503": _error_response("The feedback database cannot be read now.")}


def _review_paths() -> dict:
    """/admin/feedback…: the review queue."""
    record_id = {"name": "id", "in": "path", "required": True,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 2 ** 63 - 1}}
    decided = {**_admin_responses(_json("FeedbackRecord", "The record with its new status.")),
               "400": _bad_input()}
    return {
        "/admin/feedback": {"get": {
            "summary": "Feedback records to review, oldest first, with the count per status",
            "security": [{"bearer": []}],
            "parameters": [
                {"name": "status", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": ["pending", "accepted", "rejected", "all"], "default": "pending"}},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}},
                {"name": "after", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 0, "maximum": 2 ** 63 - 1, "default": 0},
                 "description": "Only records with a larger id (paging)."}],
            "responses": {**_admin_responses(_json("FeedbackList", "The records and the counts.")),
                          "400": _bad_input()}}},
        "/admin/feedback/{id}": {"get": {
            "summary": "One feedback record", "security": [{"bearer": []}], "parameters": [record_id],
            "responses": _admin_responses(_json("FeedbackRecord", "The record."))}},
        "/admin/feedback/{id}/accept": {"post": {
            "summary": "Accept a record (and its new tags): it is exported for training",
            "security": [{"bearer": []}], "parameters": [record_id], "responses": decided}},
        "/admin/feedback/{id}/reject": {"post": {
            "summary": "Reject a record: it never reaches training",
            "security": [{"bearer": []}], "parameters": [record_id], "responses": decided}},
    }


# --------------------------------------------------------------------------------------------
# schemas

def _text(config: Mapping) -> dict:
    return {"type": "string", "minLength": 1, "maxLength": config["MAX_TEXT_CHARS"], "pattern": NOT_BLANK,
            "description": "Japanese news text: one or more paragraphs."}


def _suggest_schemas(config: Mapping) -> dict:
    """SuggestRequest (with the configured limits), Suggestion and SuggestResponse."""
    text = _text(config)
    return {
        "SuggestRequest": {
            "type": "object", "additionalProperties": False,
            "description": "Exactly one of text or texts.",
            "properties": {
                "text": text,
                "texts": {"type": "array", "minItems": 1, "maxItems": config["MAX_TEXTS"], "items": text},
                "k": {"type": "integer", "minimum": 1, "maximum": config["MAX_K"], "nullable": True,
                      "description": "At most this many tags per text; null or absent: the model's "
                                     "default."},
                "threshold": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True,
                              "description": "One threshold for every tag; null uses the learned per-tag "
                                             "thresholds; 0 ranks every tag."},
                "explain": {"type": "boolean", "description": "Add the terms behind each tag."},
            },
            "oneOf": [{"required": ["text"]}, {"required": ["texts"]}],
        },
        "Suggestion": {
            "type": "object", "required": ["tag", "score"],
            "properties": {
                "tag": {"type": "string"},
                "score": {"type": "number", "minimum": 0, "maximum": 1,
                          "description": "Calibrated probability that the tag applies."},
                "terms": {"type": "array", "items": {
                    "type": "object", "required": ["term", "weight"],
                    "properties": {"term": {"type": "string"}, "weight": {"type": "number"}}}},
            },
        },
        "TextSuggestions": {
            "type": "object", "required": ["tags", "post_tags"],
            "description": "One text's answer: its block tags, and apart from them the post tags.",
            "properties": {
                "tags": {"type": "array", "items": {"$ref": "#/components/schemas/Suggestion"},
                         "description": "Block tags (the topic of the text), best first; empty when none fits."},
                "post_tags": {"type": "array", "items": {"$ref": "#/components/schemas/Suggestion"},
                              "description": "Post tags (themes of the whole post), best first; only with a "
                                             "block tag."},
            },
        },
        "SuggestResponse": {
            "type": "object", "required": ["model", "results"],
            "properties": {
                "model": {"type": "string", "description": "Version of the model that answered."},
                "results": {"type": "array", "items": {"$ref": "#/components/schemas/TextSuggestions"}},
            },
        },
    }


def _annotate_schemas(config: Mapping) -> dict:
    """AnnotateRequest (with the configured limits), AnnotatedBlock and AnnotateResponse."""
    suggestions = {"type": "array", "items": {"$ref": "#/components/schemas/Suggestion"}}
    lines = {"type": "array", "items": {"type": "string"}}
    nullable = {"type": "string", "nullable": True}
    return {
        "AnnotateRequest": {
            "type": "object", "additionalProperties": False, "required": ["text"],
            "properties": {
                "text": {**_text(config), "description": "A draft post in the blog format (docs/FORMAT.md): "
                                                         "quoted tweets, paragraphs, maybe some tag lines."},
                "k": {"type": "integer", "minimum": 1, "maximum": config["MAX_K"], "nullable": True,
                      "description": "At most this many tags per block; null or absent: the model's default."},
            },
        },
        "AnnotatedBlock": {
            "type": "object",
            "required": ["line_number", "paragraphs", "tags", "alternatives", "line", "drafted", "summary", "written"],
            "properties": {
                "line_number": {"type": "integer", "description": "Line of the draft the block starts on."},
                "paragraphs": lines, "written": {**lines, "description": "The tag lines the draft closed it with."},
                "tags": {**suggestions, "description": "Block tags that clear their thresholds, best first."},
                "alternatives": {**suggestions, "description": "The best block tags at any score."},
                "line": {**nullable, "description": "The block's tag line: as written, drafted, or null "
                                                    "when no tag fits."},
                "drafted": {"type": "boolean", "description": "False when the draft's own line is kept."},
                "summary": {**nullable, "description": "The drafted summary, from the block's own words."},
            },
        },
        "AnnotateResponse": {
            "type": "object",
            "required": ["model", "blocks", "post_tags", "post_tag_lines", "post_tags_drafted", "header", "footer",
                         "blank_lines", "post"],
            "properties": {
                "model": {"type": "string"},
                "blocks": {"type": "array", "items": {"$ref": "#/components/schemas/AnnotatedBlock"}},
                "post_tags": {**suggestions, "description": "Post tags suggested for the whole post."},
                "post_tag_lines": {**lines, "description": "The bare tag lines that end the post: as written, "
                                                            "else drafted."},
                "post_tags_drafted": {"type": "boolean"},
                "header": lines, "footer": lines, "blank_lines": {"type": "boolean"},
                "post": {"type": "string", "description": "The whole post in the blog format with the tag lines."},
            },
        },
    }


def _service_schemas() -> dict:
    """TagsResponse, Health and Ready."""
    return {
        "TagsResponse": {
            "type": "object", "required": ["model", "tags"],
            "properties": {"model": {"type": "string"}, "tags": {"type": "array", "items": {
                "type": "object", "required": ["tag", "scope", "count", "threshold", "held_out_f1"],
                "properties": {"tag": {"type": "string"}, "scope": {"type": "string", "enum": ["block", "post"]},
                               "count": {"type": "integer"}, "threshold": {"type": "number"},
                               "held_out_f1": {"type": "number", "nullable": True}}}}},
        },
        "Health": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
        "Ready": {"type": "object", "required": ["ready"],
                  "properties": {"ready": {"type": "boolean"}, "model": {"type": "string"},
                                 "reason": {"type": "string"}}},
    }


def _tag_list(config: Mapping) -> dict:
    return {"type": "array", "maxItems": config["MAX_TAGS_PER_FEEDBACK"],
            "items": {"type": "string", "minLength": 2, "maxLength": 100, "pattern": HASHTAG,
                      "description": "'#' and the tag's name, without whitespace."}}


def _feedback_schemas(config: Mapping) -> dict:
    """FeedbackRequest (with the configured limits), FeedbackResponse, FeedbackRecord and FeedbackList."""
    tags = {"type": "array", "items": {"type": "string"}}
    nullable = {"type": "string", "nullable": True}
    return {
        "FeedbackRequest": {
            "type": "object", "additionalProperties": False, "required": ["text", "tags"],
            "properties": {
                "text": _text(config), "tags": _tag_list(config), "post_tags": _tag_list(config),
                "shown": {"type": "array", "maxItems": config["MAX_K"], "nullable": True,
                          "description": "The suggestions the page showed for the text.",
                          "items": {"type": "object", "additionalProperties": False, "required": ["tag"],
                                    "properties": {"tag": {"type": "string", "maxLength": 100},
                                                   "score": {"type": "number", "minimum": 0, "maximum": 1,
                                                             "nullable": True}}}},
            },
        },
        "FeedbackResponse": {
            "type": "object", "required": ["stored", "id", "status", "new_tags"],
            "properties": {"stored": {"type": "boolean"}, "id": {"type": "integer"},
                           "status": {"type": "string", "enum": ["pending"]},
                           "new_tags": {**tags, "description": "Tags the model does not know: a reviewer "
                                                               "accepts them with the record, or not."},
                           "model": nullable}},
        "FeedbackRecord": {
            "type": "object",
            "required": ["id", "received", "text", "tags", "post_tags", "new_tags", "status", "model", "client"],
            "properties": {
                "id": {"type": "integer"}, "received": {"type": "string"}, "text": {"type": "string"},
                "tags": tags, "post_tags": tags, "new_tags": tags,
                "shown": {"type": "array", "nullable": True, "items": {"type": "object"}},
                "model": nullable, "client": nullable, "reviewed": nullable, "origin": {"type": "string"},
                "status": {"type": "string", "enum": ["pending", "accepted", "rejected"]}}},
        "FeedbackList": {
            "type": "object", "required": ["counts", "records"],
            "properties": {
                "counts": {"type": "object", "required": ["pending", "accepted", "rejected"], "properties": {
                    key: {"type": "integer"} for key in ("pending", "accepted", "rejected")}},
                "records": {"type": "array", "items": {"$ref": "#/components/schemas/FeedbackRecord"}}}},
    }


def _admin_and_error_schemas() -> dict:
    """ReloadResponse and Error."""
    return {
        "ReloadResponse": {"type": "object", "required": ["reloaded", "model"],
                           "properties": {"reloaded": {"type": "boolean"}, "model": {"type": "string"},
                                          "previous": {"type": "string", "nullable": True},
                                          "seconds": {"type": "number"}}},
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
    }
