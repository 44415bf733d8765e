"""classifier.service.admin: /admin/reload behind the token (compared in constant time), off
without one, and keeping the previous model when the new one is broken."""
import json
import shutil

import pytest

import classifier.service.admin as admin_module
from classifier import create_app
from tests.support.service import TOKEN, assert_clean_error, break_model


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


def test_reload_of_a_broken_model_keeps_serving_the_previous_one(bundled_model_dir, tmp_path):
    directory = tmp_path / "served"
    shutil.copytree(bundled_model_dir, directory)
    client = create_app({"MODEL_DIR": str(directory), "ADMIN_TOKEN": TOKEN,
                         "FEEDBACK_PATH": str(tmp_path / "f.jsonl")}).test_client()
    version = client.get("/model").get_json()["version"]
    for how in ("metadata truncated", "artifact outside the folder"):
        shutil.rmtree(directory)
        shutil.copytree(bundled_model_dir, directory)
        break_model(directory, how, tmp_path)
        response = client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 409 and f"still serving {version}" in response.get_json()["error"]["message"]
        assert_clean_error(response, tmp_path)
        assert client.get("/readyz").status_code == 200
        assert client.post("/suggest", json={"text": "日銀"}).get_json()["model"] == version


def test_admin_token_is_compared_in_constant_time(served, monkeypatch):
    calls = []
    real = admin_module.hmac.compare_digest
    monkeypatch.setattr(admin_module.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    client = served.test_client()
    for header in ("Bearer wrong", "Bearer " + TOKEN[:-1], "", "Bearer " + TOKEN + "x", "bearer " + TOKEN):
        assert client.post("/admin/reload", headers={"Authorization": header}).status_code == 401
    assert client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert len(calls) == 6 and all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in calls)


@pytest.mark.parametrize("token", [None, ""])
def test_admin_endpoints_are_off_without_a_token(bundled_model_dir, tmp_path, token, monkeypatch):
    monkeypatch.delenv("HASHTAG_ADMIN_TOKEN", raising=False)
    client = create_app({"MODEL_DIR": str(bundled_model_dir), "ADMIN_TOKEN": token,
                         "FEEDBACK_PATH": str(tmp_path / "f.jsonl")}).test_client()
    for header in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer None"}, {"Authorization": "Bearer"}):
        response = client.post("/admin/reload", headers=header)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
