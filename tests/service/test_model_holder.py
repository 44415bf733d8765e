"""classifier.service.model_holder: a missing or broken model: the service starts, says why it
is not ready, serves nothing, and recovers on /admin/reload."""
import shutil

import pytest

from classifier import create_app, persist
from tests.support.openapi import check_against_contract
from tests.support.service import BROKEN, TOKEN, assert_clean_error, break_model


def test_missing_model_starts_but_is_not_ready(tmp_path, openapi):
    client = create_app({"MODEL_DIR": str(tmp_path / "none")}).test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "python train.py" in ready.get_json()["reason"]
    assert str(tmp_path) not in ready.get_json()["reason"]  # no file paths leak
    check_against_contract(openapi, "/readyz", "get", ready)
    response = client.post("/suggest", json={"text": "日銀"})
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "model_unavailable"


@pytest.mark.parametrize("how, reason", BROKEN, ids=[how for how, _ in BROKEN])
def test_broken_model_starts_not_ready_and_serves_nothing(bundled_model_dir, tmp_path, monkeypatch, how, reason):
    directory = tmp_path / "models" / "broken"
    shutil.copytree(bundled_model_dir, directory)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    break_model(directory, how, outside)
    read = []  # the artifacts whose bytes were decoded
    real_read = persist.scorer_from_bytes
    monkeypatch.setattr(persist, "scorer_from_bytes", lambda data: read.append(len(data)) or real_read(data))

    app = create_app({"MODEL_DIR": str(directory), "FEEDBACK_PATH": str(tmp_path / "feedback.sqlite3"),
                      "ADMIN_TOKEN": TOKEN})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["ready"] is False
    why = ready.get_json()["reason"]
    assert reason in why, why
    assert "python train.py" in why, why
    assert str(tmp_path) not in why
    suggest = client.post("/suggest", json={"text": "日銀は追加利上げを決めた。"})
    assert suggest.status_code == 503
    assert suggest.get_json()["error"]["code"] == "model_unavailable" and why in suggest.get_json()["error"]["message"]
    assert_clean_error(suggest, tmp_path)
    for path in ("/tags", "/model"):
        assert client.get(path).status_code == 503
    if how not in ("garbage with a matching hash", "other arrays with a matching hash",
                   "a pickle inside, with a matching hash", "written by an older version of this code"):
        assert read == []  # refused before reading: nothing from elsewhere or altered was decoded
    # Feedback does not need a model.
    assert client.post("/feedback", json={"text": "例文", "tags": ["#日銀"]}).status_code == 201

    # Recovering, as the README says: retrain (here: the good model back), then /admin/reload.
    if directory.exists():
        shutil.rmtree(directory)
    shutil.copytree(bundled_model_dir, directory)
    reload = client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
    assert reload.status_code == 200 and reload.get_json()["previous"] is None
    assert client.get("/readyz").status_code == 200
    assert client.post("/suggest", json={"text": "日銀は追加利上げを決めた。"}).status_code == 200
