"""The service's contract as an OpenAPI 3 document; the tests validate responses against it."""
from __future__ import annotations


# "Not blank" as the service checks it (Python's str.strip()). Written out because JSON Schema's
# ECMA-262 \s differs from Python's: it leaves out U+001C-U+001F and U+0085 and adds U+FEFF, so a
# pattern of \S let schemathesis send "\u001d" as valid text, which the service refuses.
_WHITESPACE = r"\t-\r\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = rf"[^{_WHITESPACE}]"
ONE_LINE_NOT_BLANK = rf"^[^\n]*[^{_WHITESPACE}][^\n]*$"


def _error_response(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _json(schema_name: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}


def openapi_document(config: dict) -> dict:
    max_texts, max_chars, max_k = config["MAX_TEXTS"], config["MAX_TEXT_CHARS"], config["MAX_K"]
    text = {"type": "string", "minLength": 1, "maxLength": max_chars, "pattern": NOT_BLANK,
            "description": "Japanese news text: one or more paragraphs."}
    bad_input = _error_response("Bad input; the message says what to fix.")
    return {
        "openapi": "3.0.3",
        "info": {"title": "Hashtag suggestions for Japanese news", "version": "1.0.0",
                 "description": "Suggests topic hashtags for Japanese news paragraphs. Errors are JSON "
                                "{\"error\": {\"code\", \"message\"}}."},
        "paths": {
            "/suggest": {"post": {
                "summary": "Ranked hashtags for one text or many",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/SuggestRequest"}}}},
                "responses": {"200": _json("SuggestResponse", "One result per text, in input order."),
                              "400": bad_input, "413": _error_response("Body over the size limit."),
                              "415": _error_response("Not JSON."),
                              "503": _error_response("No usable model is loaded.")}}},
            "/tags": {"get": {"summary": "The tags the model knows, with training counts and held-out F1",
                              "responses": {"200": _json("TagsResponse", "Tags in the model's order."),
                                            "503": _error_response("No usable model is loaded.")}}},
            "/model": {"get": {"summary": "The loaded model's metadata",
                               "responses": {"200": {"description": "metadata.json of the model, with its version.",
                                                     "content": {"application/json": {"schema": {
                                                         "type": "object", "required": ["version"],
                                                         "properties": {"version": {"type": "string"}}}}}},
                                             "503": _error_response("No usable model is loaded.")}}},
            "/healthz": {"get": {"summary": "The process is alive",
                                 "responses": {"200": _json("Health", "Always ok while the process answers.")}}},
            "/readyz": {"get": {"summary": "A model is loaded and scores text",
                                "responses": {"200": _json("Ready", "Ready to serve."),
                                              "503": _json("Ready", "Not ready; reason says why.")}}},
            "/feedback": {"post": {
                "summary": "Store the tags a person chose for a text, for the next training",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/FeedbackRequest"}}}},
                "responses": {"201": _json("FeedbackResponse", "Stored durably."), "400": bad_input,
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
            "/openapi.json": {"get": {"summary": "This document",
                                      "responses": {"200": {"description": "OpenAPI 3 document.",
                                                            "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "SuggestRequest": {
                    "type": "object", "additionalProperties": False,
                    "description": "Exactly one of text or texts.",
                    "properties": {
                        "text": text,
                        "texts": {"type": "array", "minItems": 1, "maxItems": max_texts, "items": text},
                        "k": {"type": "integer", "minimum": 1, "maximum": max_k, "nullable": True,
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
                    "type": "object", "required": ["tag", "score", "scope"],
                    "properties": {
                        "tag": {"type": "string"},
                        "score": {"type": "number", "minimum": 0, "maximum": 1,
                                  "description": "Calibrated probability that the tag applies."},
                        "scope": {"type": "string", "enum": ["block", "post"]},
                        "terms": {"type": "array", "items": {
                            "type": "object", "required": ["term", "weight"],
                            "properties": {"term": {"type": "string"}, "weight": {"type": "number"}}}},
                    },
                },
                "SuggestResponse": {
                    "type": "object", "required": ["model", "results"],
                    "properties": {
                        "model": {"type": "string", "description": "Version of the model that answered."},
                        "results": {"type": "array", "items": {
                            "type": "object", "required": ["suggestions"],
                            "properties": {"suggestions": {"type": "array",
                                                           "items": {"$ref": "#/components/schemas/Suggestion"}}}}},
                    },
                },
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
                "FeedbackRequest": {
                    "type": "object", "additionalProperties": False, "required": ["text", "tags"],
                    "properties": {"text": text,
                                   "tags": {"type": "array", "maxItems": config["MAX_TAGS_PER_FEEDBACK"],
                                            "items": {"type": "string", "minLength": 1, "maxLength": 100,
                                                      "pattern": ONE_LINE_NOT_BLANK}},
                                   "post_tags": {"type": "array", "maxItems": config["MAX_TAGS_PER_FEEDBACK"],
                                                 "items": {"type": "string", "minLength": 1, "maxLength": 100,
                                                           "pattern": ONE_LINE_NOT_BLANK}}},
                },
                "FeedbackResponse": {"type": "object", "required": ["stored", "record"],
                                     "properties": {"stored": {"type": "boolean"}, "record": {"type": "object"}}},
                "ReloadResponse": {"type": "object", "required": ["reloaded", "model"],
                                   "properties": {"reloaded": {"type": "boolean"}, "model": {"type": "string"},
                                                  "previous": {"type": "string", "nullable": True},
                                                  "seconds": {"type": "number"}}},
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
            },
        },
    }
