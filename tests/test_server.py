import json
import multiprocessing
import os
import shutil

import jsonschema
import pytest
from openapi_spec_validator import validate

from classifier.service import create_app
from classifier.service.feedback_store import FeedbackStore

TOKEN = "s3cret-token"


@pytest.fixture
def app(bundled_model_dir, tmp_path):
    return create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(tmp_path / "feedback.jsonl"),
                       "ADMIN_TOKEN": TOKEN, "MAX_TEXTS": 8, "MAX_TEXT_CHARS": 500, "MAX_CONTENT_LENGTH": 20_000})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def openapi(bundled_model_dir):
    document = create_app({"MODEL_DIR": str(bundled_model_dir)}).test_client().get("/openapi.json").get_json()
    validate(document)  # a valid OpenAPI 3 document
    return document


def check_against_contract(openapi, path, method, response):
    """The response body matches the schema the document gives for its status."""
    spec = openapi["paths"][path][method]["responses"][str(response.status_code)]
    schema = spec["content"]["application/json"]["schema"]
    resolver_schema = {**schema, "components": openapi["components"]}
    jsonschema.validate(response.get_json(), _nullable_to_jsonschema(resolver_schema),
                        resolver=jsonschema.RefResolver("", {"components": openapi["components"]}))


def _nullable_to_jsonschema(schema):
    """OpenAPI 3.0's ``nullable`` is not JSON Schema; turn it into a type list."""
    if isinstance(schema, dict):
        schema = {k: _nullable_to_jsonschema(v) for k, v in schema.items()}
        if schema.pop("nullable", False) and "type" in schema:
            schema["type"] = [schema["type"], "null"]
        return schema
    if isinstance(schema, list):
        return [_nullable_to_jsonschema(v) for v in schema]
    return schema


@pytest.fixture(autouse=True, scope="module")
def _json_schema_nullable(openapi):
    openapi["components"] = _nullable_to_jsonschema(openapi["components"])


def test_suggest_one_text(client, openapi):
    response = client.post("/suggest", json={"text": "日銀の植田総裁は会見で追加利上げの可能性に言及した。"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["results"][0]["suggestions"][0]["tag"] == "#日銀"
    assert body["model"]
    check_against_contract(openapi, "/suggest", "post", response)


def test_suggest_many_texts_with_options(client, openapi):
    texts = ["FRBのパウエル議長は利下げを急がない考えを示した。", "パスタを茹でてソースと和えます。"]
    response = client.post("/suggest", json={"texts": texts, "k": 2, "threshold": 0, "explain": True})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert len(results) == 2 and all(len(r["suggestions"]) == 2 for r in results)
    assert results[0]["suggestions"][0]["tag"] == "#FRB"
    assert results[0]["suggestions"][0]["terms"]
    check_against_contract(openapi, "/suggest", "post", response)


def test_suggest_abstains_with_empty_list(client):
    response = client.post("/suggest", json={"text": "パスタを茹でてソースと和えます。"})
    assert response.get_json()["results"][0]["suggestions"] == []


BAD_REQUESTS = [
    ({"data": "{not json", "content_type": "application/json"}, 400, "invalid_json"),
    ({"data": b"\xff\xfe", "content_type": "application/json"}, 400, "invalid_json"),
    ({"data": "text=x", "content_type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
    ({"data": "{}", "content_type": "text/plain"}, 415, "unsupported_media_type"),
    ({"json": ["a list"]}, 400, "invalid_request"),
    ({"json": {}}, 400, "invalid_request"),
    ({"json": {"text": "a", "texts": ["b"]}}, 400, "invalid_request"),
    ({"json": {"text": ""}}, 400, "empty_text"),
    ({"json": {"text": "   \n\t　"}}, 400, "empty_text"),
    ({"json": {"text": 42}}, 400, "invalid_text"),
    ({"json": {"text": None}}, 400, "invalid_text"),
    ({"json": {"texts": "not a list"}}, 400, "invalid_request"),
    ({"json": {"texts": []}}, 400, "empty_text"),
    ({"json": {"texts": ["ok", 3]}}, 400, "invalid_text"),
    ({"json": {"texts": ["ok", " "]}}, 400, "empty_text"),
    ({"json": {"texts": ["x"] * 9}}, 400, "too_many_texts"),
    ({"json": {"text": "長" * 501}}, 400, "text_too_long"),
    ({"data": '{"text": "\\ud800"}', "content_type": "application/json"}, 400, "invalid_text"),
    ({"json": {"text": "a", "k": 0}}, 400, "invalid_k"),
    ({"json": {"text": "a", "k": 51}}, 400, "invalid_k"),
    ({"json": {"text": "a", "k": "3"}}, 400, "invalid_k"),
    ({"json": {"text": "a", "k": True}}, 400, "invalid_k"),
    ({"json": {"text": "a", "threshold": -0.1}}, 400, "invalid_threshold"),
    ({"json": {"text": "a", "threshold": 1.5}}, 400, "invalid_threshold"),
    ({"json": {"text": "a", "threshold": "high"}}, 400, "invalid_threshold"),
    ({"json": {"text": "a", "explain": "yes"}}, 400, "invalid_explain"),
    ({"json": {"text": "a", "colour": "red"}}, 400, "invalid_request"),
    ({"data": json.dumps({"text": "x" * 30_000}), "content_type": "application/json"}, 413, "body_too_large"),
]


@pytest.mark.parametrize("request_args, status, code", BAD_REQUESTS)
def test_bad_suggest_requests_get_json_errors(client, openapi, request_args, status, code):
    response = client.post("/suggest", **request_args)
    assert response.status_code == status
    assert response.is_json
    error = response.get_json()["error"]
    assert error["code"] == code and error["message"]
    check_against_contract(openapi, "/suggest", "post", response)


@pytest.mark.parametrize("method, path, status, code", [
    ("get", "/nowhere", 404, "not_found"),
    ("get", "/suggest", 405, "method_not_allowed"),
    ("delete", "/feedback", 405, "method_not_allowed"),
    ("post", "/tags", 405, "method_not_allowed"),
])
def test_unknown_routes_and_methods(client, method, path, status, code):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_tags_model_health_ready(client, openapi):
    tags = client.get("/tags")
    assert tags.status_code == 200
    listed = {t["tag"]: t for t in tags.get_json()["tags"]}
    assert listed["#日銀"]["scope"] == "block" and listed["#日銀"]["count"] >= 5
    assert listed["#反ロシア"]["scope"] == "post"
    check_against_contract(openapi, "/tags", "get", tags)
    model = client.get("/model").get_json()
    assert model["version"] == tags.get_json()["model"]
    assert model["holdout"]["scores"]["micro_f1"] > 0
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["ready"] is True
    check_against_contract(openapi, "/readyz", "get", ready)


def test_missing_model_starts_but_is_not_ready(tmp_path, openapi):
    client = create_app({"MODEL_DIR": str(tmp_path / "none")}).test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "python train.py" in ready.get_json()["reason"]
    assert str(tmp_path) not in ready.get_json()["reason"]  # no file paths leak
    check_against_contract(openapi, "/readyz", "get", ready)
    response = client.post("/suggest", json={"text": "日銀"})
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "model_unavailable"


def test_feedback_is_stored_as_one_json_line(client, app, openapi):
    response = client.post("/feedback", json={"text": "新しいタグの例文です。", "tags": ["#新タグ", "#日銀"]})
    assert response.status_code == 201
    check_against_contract(openapi, "/feedback", "post", response)
    lines = open(app.config["FEEDBACK_PATH"], encoding="utf-8").read().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["text"] == "新しいタグの例文です。" and record["tags"] == ["#新タグ", "#日銀"]
    assert record["model"]


@pytest.mark.parametrize("body, code", [
    ({"text": "x"}, "invalid_tags"),
    ({"text": "x", "tags": "#a"}, "invalid_tags"),
    ({"text": "x", "tags": [""]}, "invalid_tags"),
    ({"text": "x", "tags": [1]}, "invalid_tags"),
    ({"text": "x", "tags": ["#a\n#b"]}, "invalid_tags"),
    ({"text": "", "tags": ["#a"]}, "empty_text"),
    ({"tags": ["#a"]}, "invalid_text"),
    ({"text": "x", "tags": ["#a"], "extra": 1}, "invalid_request"),
])
def test_bad_feedback_is_refused_and_not_stored(client, app, body, code):
    response = client.post("/feedback", json=body)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == code
    assert not os.path.exists(app.config["FEEDBACK_PATH"])


def test_unwritable_feedback_store_answers_503(bundled_model_dir, tmp_path):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    client = create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(blocked / "f.jsonl")}).test_client()
    response = client.post("/feedback", json={"text": "x", "tags": ["#a"]})
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "feedback_unavailable"


def _write_feedback(path, worker, count):
    store = FeedbackStore(path)
    for i in range(count):
        store.append({"text": f"worker {worker} record {i} " + "長い本文" * 200, "tags": [f"#w{worker}"]})


def test_concurrent_feedback_from_several_processes_is_counted_exactly(tmp_path):
    path = tmp_path / "feedback.jsonl"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_write_feedback, args=(path, w, 150)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 600
    for worker in range(4):
        assert sorted(int(r["text"].split()[3]) for r in records if r["tags"] == [f"#w{worker}"]) == list(range(150))


def test_admin_reload_needs_the_token_and_swaps_the_model(app, client, bundled_model_dir, tmp_path):
    assert client.post("/admin/reload").status_code == 401
    assert client.post("/admin/reload", headers={"Authorization": "Bearer wrong"}).status_code == 401
    before = client.get("/model").get_json()["version"]
    # Retrain into the served folder: the reload serves the new model.
    copy = tmp_path / "served"
    shutil.copytree(bundled_model_dir, copy)
    app.extensions["hashtag_model"].directory = str(copy)
    metadata = json.loads((copy / "metadata.json").read_text())
    metadata["created"] = "2099-01-01T00:00:00+00:00"
    (copy / "metadata.json").write_text(json.dumps(metadata))
    response = client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.get_json()["previous"] == before
    assert client.get("/model").get_json()["version"].startswith("2099-01-01")
    # A broken model is refused and the previous one keeps serving.
    next(copy.glob("model-*.joblib")).write_bytes(b"broken")
    response = client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "reload_failed"
    assert client.post("/suggest", json={"text": "日銀"}).status_code == 200


def test_admin_reload_is_off_without_a_token(bundled_model_dir):
    client = create_app({"MODEL_DIR": str(bundled_model_dir), "ADMIN_TOKEN": ""}).test_client()
    assert client.post("/admin/reload", headers={"Authorization": "Bearer "}).status_code == 404


def test_page_is_served_without_external_resources(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<textarea" in html and "/suggest" in html
    assert "http://" not in html and "https://" not in html
