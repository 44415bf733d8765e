"""classifier.service.admin: /admin/reload behind the token (compared in constant time), off
without one, and keeping the previous model when the new one is broken."""
import json
import shutil

import pytest

import classifier.service.admin as admin_module
from classifier import create_app
from tests.support.evaluation import CORPUS
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
    next(copy.glob("model-*.npz")).write_bytes(b"broken")
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
                         "FEEDBACK_PATH": str(tmp_path / "f.sqlite3")}).test_client()
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
                         "FEEDBACK_PATH": str(tmp_path / "f.sqlite3")}).test_client()
    for header in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer None"}, {"Authorization": "Bearer"}):
        response = client.post("/admin/reload", headers=header)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_a_service_started_before_the_first_promotion_serves_the_promoted_model_after_reload(
        tiny_models, tmp_path, monkeypatch):
    """Issue 14, problems 2 and 3: without a configured folder the service serves the model in use
    (models/default while there is no pointer) and, after a promotion and a reload, the promoted one."""
    from classifier import config
    from classifier.promote import point_to

    good, fewer = tiny_models
    monkeypatch.setattr(config, "DEFAULT_MODEL", good)
    monkeypatch.setattr(config, "MODEL_POINTER", tmp_path / "current")
    monkeypatch.delenv("HASHTAG_MODEL_DIR", raising=False)
    client = create_app({"ADMIN_TOKEN": TOKEN, "FEEDBACK_PATH": str(tmp_path / "f.sqlite3")}).test_client()
    version = lambda folder: json.loads((folder / "metadata.json").read_text())["artifact_sha256"][:12]  # noqa: E731
    assert client.get("/model").get_json()["version"].endswith(version(good))
    point_to(tmp_path / "current", fewer)
    assert client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/model").get_json()["version"].endswith(version(fewer))


@pytest.mark.slow
def test_promote_reloads_every_worker_of_a_loaded_server_and_no_request_fails(bundled_model_dir, tmp_path, monkeypatch,
                                                                             capsys):
    """Issue 14, problem 3: after a promote the running service kept the old model. `promote
    --reload-url` reloads it; the reload reaches every gunicorn worker, and while it happens (and
    while /admin/reload is POSTed again and again) every /suggest answers 200."""
    import threading
    import time
    import urllib.request

    from classifier.cli import main
    from classifier.promote import point_to
    from tests.support.server import production_server

    models = tmp_path / "models"
    shutil.copytree(bundled_model_dir, models / "v1")
    shutil.copytree(bundled_model_dir, models / "v2")
    metadata = json.loads((models / "v2" / "metadata.json").read_text())
    metadata["created"] = "2099-01-01T00:00:00+00:00"  # the same model under another version
    (models / "v2" / "metadata.json").write_text(json.dumps(metadata))
    pointer = models / "current"
    point_to(pointer, models / "v1")
    statuses, versions, lock, stop = [], [], threading.Lock(), threading.Event()

    def call(url, data=None, headers=None):
        request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",
                                         headers={"Content-Type": "application/json", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                return error.code, None
        except OSError as error:  # a refused or reset connection is a failed request too
            return repr(error), None

    with production_server(pointer, tmp_path / "feedback.sqlite3", workers=2, threads=2,
                           env={"HASHTAG_ADMIN_TOKEN": TOKEN}) as server:
        def load():
            while not stop.is_set():
                status, body = call(f"{server.url}/suggest", json.dumps({"text": "日銀は追加利上げを決めた。"}).encode())
                with lock:
                    statuses.append(status)
                    versions.append(body["model"] if body else None)

        threads = [threading.Thread(target=load) for _ in range(4)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(1)
            monkeypatch.setenv("HASHTAG_ADMIN_TOKEN", TOKEN)
            assert main(["promote", str(models / "v2"), "--pointer", str(pointer), "--reload-url", server.url,
                         "--data", str(CORPUS)]) == 0
            assert f"reloaded: {server.url} now serves 2099-01-01" in capsys.readouterr().out
            # Both worker processes serve it now, not only the one that answered the reload.
            assert {call(f"{server.url}/model")[1]["version"][:10] for _ in range(30)} == {"2099-01-01"}
            for _ in range(4):
                assert call(f"{server.url}/admin/reload", b"", {"Authorization": f"Bearer {TOKEN}"})[0] == 200
                time.sleep(0.5)
            time.sleep(1)
        finally:
            stop.set()
            for thread in threads:
                thread.join(60)
        # Every worker now serves v2: many requests, spread over both processes, all on the new model.
        after = {call(f"{server.url}/model")[1]["version"] for _ in range(40)}
    assert statuses and set(statuses) == {200}, sorted(set(map(str, statuses)))
    assert after == {versions[-1]} and versions[-1].startswith("2099-01-01"), after
    print(f"{len(statuses)} requests during the reloads, all 200")
