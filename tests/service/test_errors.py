"""classifier.service.errors: unknown routes and methods answer JSON errors."""
import pytest


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
