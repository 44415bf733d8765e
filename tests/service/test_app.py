"""classifier.service (create_app): never debug mode, a bare JSON 500, and no route that
takes a path."""
from classifier import create_app
from tests.support.service import assert_clean_error


def test_debug_mode_is_off_even_when_the_environment_asks_for_it(bundled_model_dir, tmp_path, monkeypatch):
    """Regression: Flask turns debug on from FLASK_DEBUG=1 in the environment, under gunicorn too."""
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(tmp_path / "f.sqlite3")})
    assert app.debug is False
    # An unexpected failure, with a path in its message, answers a bare JSON 500.
    loaded = app.extensions["hashtag_model"].current

    def explode(*args, **kwargs):
        raise RuntimeError(f"boom in {tmp_path}/secret.py line 3")

    monkeypatch.setattr(loaded.model, "suggest", explode)
    response = app.test_client().post("/suggest", json={"text": "日銀"})
    assert response.status_code == 500 and response.get_json()["error"]["code"] == "internal_error"
    assert_clean_error(response, tmp_path)
    assert "boom" not in response.get_data(as_text=True)


def test_no_endpoint_takes_a_path(served):
    """Nothing a caller sends names a file: the model folder and the feedback file come from the
    configuration only. Unknown fields (a 'model' or 'path' field) are refused."""
    client = served.test_client()
    for body in ({"text": "日銀", "model": "/etc"}, {"text": "日銀", "path": "../../etc/passwd"}):
        response = client.post("/suggest", json=body)
        assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_request"
    response = client.post("/feedback", json={"text": "x", "tags": ["#a"], "path": "/tmp/x.jsonl"})
    assert response.status_code == 400
    for path in ("/static/../../classifier/service/__init__.py", "/..%2f..%2fetc/passwd", "/model/../../etc/passwd",
                 "//etc/passwd", "/admin/reload?model=/tmp"):
        response = client.get(path)
        assert response.status_code in (404, 405) and "root:" not in response.get_data(as_text=True)
    routes = {rule.rule for rule in served.url_map.iter_rules()}
    assert routes == {"/", "/suggest", "/annotate", "/tags", "/model", "/healthz", "/readyz", "/feedback",
                      "/admin/reload", "/admin/feedback", "/admin/feedback/<int:identifier>",
                      "/admin/feedback/<int:identifier>/accept", "/admin/feedback/<int:identifier>/reject",
                      "/openapi.json"}
