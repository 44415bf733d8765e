"""Apps of the service (in process, WSGI) shared by the service tests, and its OpenAPI document."""
import pytest
from openapi_spec_validator import validate

from classifier import create_app
from tests.support.openapi import nullable_to_jsonschema
from tests.support.service import TOKEN


@pytest.fixture
def app(bundled_model_dir, tmp_path):
    """A service on the bundled model with small limits: 8 texts of 500 characters, 20,000 bytes."""
    return create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(tmp_path / "feedback.sqlite3"),
                       "ADMIN_TOKEN": TOKEN, "MAX_TEXTS": 8, "MAX_TEXT_CHARS": 500, "MAX_CONTENT_LENGTH": 20_000})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="module")
def served(bundled_model_dir, tmp_path_factory):
    """One app on the bundled model with the default limits, for the property tests (hypothesis
    reuses it)."""
    folder = tmp_path_factory.mktemp("served")
    app = create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(folder / "feedback.sqlite3"),
                      "ADMIN_TOKEN": TOKEN})
    return app


@pytest.fixture(scope="session")
def openapi(bundled_model_dir):
    """The document the service serves, checked as a valid OpenAPI 3 document, with ``nullable``
    turned into JSON Schema type lists for tests.support.openapi.check_against_contract."""
    document = create_app({"MODEL_DIR": str(bundled_model_dir)}).test_client().get("/openapi.json").get_json()
    validate(document)  # a valid OpenAPI 3 document
    document["components"] = nullable_to_jsonschema(document["components"])
    return document
