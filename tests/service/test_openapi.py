"""classifier.service.openapi: the service conforms to its own OpenAPI document; schema-driven
fuzzing of the HTTP API (schemathesis).

The production server (gunicorn) runs on loopback with an admin token set; schemathesis reads
``/openapi.json`` from it and sends schema-valid and schema-violating requests to every
operation. Every default check must hold (no 5xx, status codes, content types and bodies as
documented, schema-violating input refused), no error answer may carry a traceback or a server
path, and undocumented methods answer 405. A second run does the same in-process against a
service with no usable model, where the 503 answers must conform too.

FUZZ_EXAMPLES=500 searches harder (see RELIABILITY.md); the suite's default stays quick.
"""
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from classifier import create_app
from classifier.config import defaults
from classifier.service.openapi import openapi_document
from tests.support.paths import ROOT
from tests.support.server import production_server

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

# Every operation of the document, with schema-valid and schema-violating data. Schemathesis's
# strategies are driven by hypothesis directly (``as_strategy``) rather than through its pytest
# plugin, whose lazy loading breaks on pytest 9.2.
DOCUMENT = openapi_document(defaults())
OPERATIONS = [(path, method.upper()) for path, item in DOCUMENT["paths"].items() for method in item]
# Schema-violating data exists only where there is something to violate: a body or parameters.
CASES = [(path, method, mode) for path, method in OPERATIONS
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if mode.is_positive or {"requestBody", "parameters"} & set(DOCUMENT["paths"][path][method.lower()])]
IDS = [f"{method} {path} {mode.value}" for path, method, mode in CASES]


def fuzz(schema, path, method, mode, examples=EXAMPLES, **validate):
    strategy = schema[path][method].as_strategy(generation_mode=mode)

    @settings(FUZZ, max_examples=examples)
    @given(case=strategy)
    def run(case):
        case.call_and_validate(**validate)

    run()


@pytest.fixture(scope="module")
def fuzzed_server(bundled_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    with production_server(bundled_model_dir, folder / "feedback.sqlite3",
                           env={"HASHTAG_ADMIN_TOKEN": "fuzz-token-not-guessable"}) as server:
        yield server


@pytest.fixture(scope="module")
def served_schema(fuzzed_server):
    return schemathesis.openapi.from_url(f"{fuzzed_server.url}/openapi.json")


def no_leaks(paths):
    def check(ctx, response, case):
        if response.status_code < 400:
            return None
        text = response.text
        assert "Traceback" not in text and 'File "' not in text, f"a traceback in an error answer: {text[:300]}"
        for path in paths:
            assert str(path) not in text, f"a server path in an error answer: {text[:300]}"
        assert response.headers.get("content-type", [""])[0].startswith("application/json"), "error not JSON"
        return None
    return check


def draft_format_errors_only(ctx, response, case):
    """/annotate's 400 for schema-valid text: only for a draft the blog format cannot read, named by its line.

    A JSON schema cannot say "a tag line needs a paragraph before it", so schemathesis's own
    acceptance check would call that refusal a rejection of valid data."""
    if response.status_code == 400:
        error = response.json()["error"]
        assert error["code"] == "invalid_draft" and "line " in error["message"], response.text[:300]
    return None


@pytest.mark.slow
@pytest.mark.parametrize("path, method, mode", CASES, ids=IDS)
def test_production_server_conforms_to_its_document(served_schema, fuzzed_server, bundled_model_dir, path, method,
                                                     mode):
    leaks = no_leaks([ROOT, bundled_model_dir, fuzzed_server.feedback.parent])
    if (path, mode) == ("/annotate", GenerationMode.POSITIVE):
        fuzz(served_schema, path, method, mode, additional_checks=[leaks, draft_format_errors_only],
             excluded_checks=[schemathesis.checks.positive_data_acceptance])
    else:
        fuzz(served_schema, path, method, mode, additional_checks=[leaks])


@pytest.mark.parametrize("path", sorted({path for path, _ in OPERATIONS}))
def test_undocumented_methods_answer_405_with_allow(fuzzed_server, path):
    import urllib.error
    import urllib.request

    documented = {method for documented_path, method in OPERATIONS if documented_path == path}
    for method in sorted({"GET", "POST", "PUT", "DELETE", "PATCH"} - documented):
        concrete = path.replace("{id}", "1")  # a record id in the route's place
        request = urllib.request.Request(f"{fuzzed_server.url}{concrete}", data=b"{}" if method != "GET" else None,
                                         method=method, headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request, timeout=10)
        with raised.value:  # the error holds the response: closed after the checks
            assert raised.value.code == 405, (method, path)
            assert documented <= set(raised.value.headers["Allow"].replace(" ", "").split(","))
            assert raised.value.headers["Content-Type"].startswith("application/json")


@pytest.fixture(scope="module")
def modelless(tmp_path_factory):
    """A service whose model does not load, in process (WSGI): the 503 answers must conform too."""
    folder = tmp_path_factory.mktemp("modelless")
    (folder / "model").mkdir()
    (folder / "model" / "metadata.json").write_text("{not json", encoding="utf-8")
    app = create_app({"MODEL_DIR": str(folder / "model"), "FEEDBACK_PATH": str(folder / "feedback.sqlite3"),
                      "ADMIN_TOKEN": "another-token"})
    return schemathesis.openapi.from_wsgi("/openapi.json", app), folder


def no_internal_error(ctx, response, case):
    assert response.status_code != 500, f"500 from the service without a model: {response.text[:300]}"
    if (case.method.upper() in ("GET", "POST") and case.path in ("/suggest", "/tags", "/model", "/readyz")
            and response.status_code not in (400, 405, 413, 415)):
        assert response.status_code == 503, f"{case.path} answered {response.status_code} without a model"
        assert "retrain" in response.text, response.text[:300]
    return None


@pytest.mark.parametrize("path, method, mode", CASES, ids=IDS)
def test_service_without_a_model_conforms_to_its_document(modelless, path, method, mode):
    schema, folder = modelless
    # 503 is the documented answer here, so "no 5xx" becomes "no 500" (and every status documented).
    fuzz(schema, path, method, mode, examples=max(5, EXAMPLES // 3),
         excluded_checks=[schemathesis.checks.not_a_server_error],
         additional_checks=[no_leaks([ROOT, folder]), no_internal_error])
