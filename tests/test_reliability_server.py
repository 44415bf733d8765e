"""Reliability and safety of the service, in process: odd bodies, broken models, an unwritable
or full feedback store, the admin token, debug mode, leaks.

Faults that need a real process (a server under a file size limit, train.py killed while it
saves) are in test_reliability_faults.py; load is in test_reliability_load.py.
"""
import errno
import hashlib
import json
import os
import shutil
from pathlib import Path

import joblib
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import classifier.service.admin as admin_module
import classifier.service.feedback_store as feedback_store_module
from classifier.corpus import load_corpus
from classifier.persist import METADATA_FILE
from classifier.service import create_app
from classifier.service.feedback_store import FeedbackStore

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "reliability-token"


@pytest.fixture(scope="module")
def served(bundled_model_dir, tmp_path_factory):
    """One app on the bundled model for the property tests (hypothesis reuses it)."""
    folder = tmp_path_factory.mktemp("served")
    app = create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(folder / "feedback.jsonl"),
                      "ADMIN_TOKEN": TOKEN})
    return app


def assert_clean_error(response, *paths):
    """A JSON error with a code and a message, and neither a traceback nor a server path in it."""
    assert response.is_json, response.get_data(as_text=True)[:200]
    error = response.get_json()["error"]
    assert error["code"] and error["message"]
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text
    for path in (ROOT, *paths):
        assert str(path) not in text


# --------------------------------------------------------------------------------------------
# odd bodies

ODD_BODIES = [
    ('{"text": "a", "k": ' + "9" * 5000 + "}", 400, "invalid_json"),  # regression: was a 500 (int over 4300 digits)
    ("[" * 100_000 + "]" * 100_000, 400, "invalid_json"),  # regression: was a 500 (RecursionError)
    ('{"text": ' * 50_000 + "1" + "}" * 50_000, 400, "invalid_json"),
    ('{"text": "a", "threshold": NaN}', 400, "invalid_threshold"),
    ('{"text": "a", "threshold": Infinity}', 400, "invalid_threshold"),
    ('{"text": "a", "threshold": 1e999}', 400, "invalid_threshold"),
    ('{"text": "a", "k": 3.0}', 400, "invalid_k"),
    ('{"text": "a", "k": null}', 200, None),  # null k: the model's default (documented as nullable)
    ("\ufeff{\"text\": \"a\"}", 400, "invalid_json"),
    ("", 400, "invalid_json"),
    ("null", 400, "invalid_request"),
    ('"text"', 400, "invalid_request"),
    ('{"text": "\\u0000"}', 200, None),
    ('{"text": "\\u0001\\u0002\\u007f"}', 200, None),
    ('{"text": "<p>日銀<script>alert(1)</script></p>&amp;"}', 200, None),
    ('{"texts": ["\\ud83d\\ude00", "\\ud800\\udc00"]}', 200, None),  # escaped surrogate pairs are fine
    ('{"texts": ["ok", "\\udbff"]}', 400, "invalid_text"),
    ('{"text": "a", "text": "b"}', 200, None),  # a repeated key: the last one wins, as in json.loads
]


@pytest.mark.parametrize("body, status, code", ODD_BODIES)
def test_odd_suggest_bodies(served, body, status, code):
    response = served.test_client().post("/suggest", data=body.encode("utf-8", "surrogatepass"),
                                         content_type="application/json")
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    if code:
        assert response.get_json()["error"]["code"] == code
        assert_clean_error(response)


@pytest.mark.parametrize("body, code", [
    ({"text": "x", "tags": ["\ud800"]}, "invalid_tags"),  # regression: was a 500 (UnicodeEncodeError)
    ({"text": "x", "tags": ["#a"], "post_tags": ["#\udfff"]}, "invalid_tags"),
    ({"text": "x", "tags": ["#a"], "post_tags": None}, "invalid_tags"),
    ({"text": "x", "tags": [["#nested"]]}, "invalid_tags"),
    ({"text": "x", "tags": ["#a"] * 21}, "invalid_tags"),
    ({"text": "x", "tags": ["#" + "長" * 100]}, "invalid_tags"),
])
def test_odd_feedback_is_refused_and_nothing_stored(served, body, code):
    path = Path(served.config["FEEDBACK_PATH"])
    before = path.read_bytes() if path.exists() else b""
    raw = json.dumps(body).encode("utf-8")  # ensure_ascii: surrogates travel as \\ud800 escapes
    response = served.test_client().post("/feedback", data=raw, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == code
    assert_clean_error(response)
    assert (path.read_bytes() if path.exists() else b"") == before


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(st.characters(codec=None, categories=None),
                                                                         max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["text", "texts", "k", "threshold", "explain", "tags", "post_tags", "other"]), children,
        max_size=5),
    max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=JSON_VALUES, path=st.sampled_from(["/suggest", "/feedback"]))
def test_any_json_body_gets_an_answer_and_never_a_500(served, body, path):
    raw = json.dumps(body, ensure_ascii=True, allow_nan=True)  # lone surrogates travel as escapes
    response = served.test_client().post(path, data=raw, content_type="application/json")
    assert response.status_code in (200, 201, 400), response.get_data(as_text=True)[:300]
    if response.status_code == 400:
        assert_clean_error(response)


FEEDBACK_TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=200).filter(str.strip)
FEEDBACK_TAG = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\n"), min_size=1,
                       max_size=20).filter(str.strip)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=FEEDBACK_TEXT, tags=st.lists(FEEDBACK_TAG, min_size=1, max_size=3))
@example(text="一行目\u2028二行目", tags=["#日銀"])
@example(text="NEL\x85と\u2029段落", tags=["#a\u2028b"])
def test_accepted_feedback_reads_back_as_training_data(served, tmp_path_factory, text, tags):
    """Regression: feedback holding U+2028, U+2029 or U+0085 was stored raw (json.dumps leaves
    them unescaped), and the corpus reader split the line there: the whole training_data/ then
    failed to load. Whatever the service accepts must train."""
    folder = tmp_path_factory.mktemp("roundtrip")
    app = create_app({"MODEL_DIR": str(folder / "no-model-needed"), "FEEDBACK_PATH": str(folder / "feedback.jsonl")})
    response = app.test_client().post("/feedback", json={"text": text, "tags": tags})
    assert response.status_code == 201
    raw = (folder / "feedback.jsonl").read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    assert len(raw.decode("utf-8").splitlines()) == 1  # one line, whichever way lines are split
    [example] = load_corpus([folder / "feedback.jsonl"])
    assert example.text == text and list(example.tags) == list(dict.fromkeys(t.strip() for t in tags))


# --------------------------------------------------------------------------------------------
# broken models: the service starts, says why it is not ready, serves nothing

def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _break(directory: Path, how: str, outside: Path):
    metadata = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
    artifact = directory / metadata["artifact"]

    def write_metadata(**changes):
        (directory / METADATA_FILE).write_text(json.dumps({**metadata, **changes}), encoding="utf-8")

    if how == "folder missing":
        shutil.rmtree(directory)
    elif how == "metadata missing":
        (directory / METADATA_FILE).unlink()
    elif how == "metadata truncated":
        data = (directory / METADATA_FILE).read_bytes()
        (directory / METADATA_FILE).write_bytes(data[: len(data) // 2])
    elif how == "metadata not an object":
        (directory / METADATA_FILE).write_text("[]", encoding="utf-8")
    elif how == "artifact missing":
        artifact.unlink()
    elif how == "artifact truncated":
        data = artifact.read_bytes()
        artifact.write_bytes(data[: len(data) // 2])
    elif how == "artifact replaced, hash not updated":
        joblib.dump({"not": "a model"}, artifact)
    elif how == "other library versions":
        write_metadata(versions={**metadata["versions"], "scikit-learn": "0.0.1", "numpy": "0.0.1"})
    elif how == "garbage with a matching hash":
        artifact.write_bytes(b"\x80\x04garbage, not a pickle")
        write_metadata(artifact_sha256=_sha256(artifact))
    elif how == "another object with a matching hash":
        joblib.dump({"not": "a model"}, artifact)
        write_metadata(artifact_sha256=_sha256(artifact))
    elif how == "pickled by an older version of this code":
        model = joblib.load(artifact)
        del model.features_  # what an attribute added or renamed since looks like to suggest()
        joblib.dump(model, artifact)
        write_metadata(artifact_sha256=_sha256(artifact))
    elif how in ("artifact outside the folder", "absolute artifact path", "artifact links outside"):
        target = outside / "model-elsewhere.joblib"
        shutil.copy(artifact, target)
        if how == "artifact outside the folder":
            write_metadata(artifact=os.path.relpath(target, directory))
        elif how == "absolute artifact path":
            write_metadata(artifact=str(target))
        else:
            artifact.unlink()
            artifact.symlink_to(target)
    else:
        raise AssertionError(how)


BROKEN = [
    ("folder missing", "python train.py"),
    ("metadata missing", "metadata.json missing"),
    ("metadata truncated", "not valid JSON"),
    ("metadata not an object", "does not hold a JSON object"),
    ("artifact missing", "is missing"),
    ("artifact truncated", "does not match the hash"),
    ("artifact replaced, hash not updated", "does not match the hash"),
    ("other library versions", "other library versions: scikit-learn 0.0.1"),
    ("garbage with a matching hash", "could not be unpickled"),
    ("another object with a matching hash", "not a HashtagModel"),
    ("pickled by an older version of this code", "loads but fails to score text (AttributeError)"),
    ("artifact outside the folder", "not a model file of this folder"),
    ("absolute artifact path", "not a model file of this folder"),
    ("artifact links outside", "not a model file of this folder"),
]


@pytest.mark.parametrize("how, reason", BROKEN, ids=[how for how, _ in BROKEN])
def test_broken_model_starts_not_ready_and_serves_nothing(bundled_model_dir, tmp_path, monkeypatch, how, reason):
    directory = tmp_path / "models" / "broken"
    shutil.copytree(bundled_model_dir, directory)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    _break(directory, how, outside)
    unpickled = []
    real_load = joblib.load
    monkeypatch.setattr(joblib, "load", lambda path, *a, **k: unpickled.append(str(path)) or real_load(path, *a, **k))

    app = create_app({"MODEL_DIR": str(directory), "FEEDBACK_PATH": str(tmp_path / "feedback.jsonl"),
                      "ADMIN_TOKEN": TOKEN})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["ready"] is False
    why = ready.get_json()["reason"]
    assert reason in why, why
    if how != "another object with a matching hash":  # model.py's message for it names no remedy
        assert "python train.py" in why, why
    assert str(tmp_path) not in why
    suggest = client.post("/suggest", json={"text": "日銀は追加利上げを決めた。"})
    assert suggest.status_code == 503
    assert suggest.get_json()["error"]["code"] == "model_unavailable" and why in suggest.get_json()["error"]["message"]
    assert_clean_error(suggest, tmp_path)
    for path in ("/tags", "/model"):
        assert client.get(path).status_code == 503
    if how not in ("garbage with a matching hash", "another object with a matching hash",
                   "pickled by an older version of this code"):
        assert unpickled == []  # refused before unpickling: nothing from elsewhere or altered was loaded
    assert not any(str(outside) in path for path in unpickled)
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


def test_reload_of_a_broken_model_keeps_serving_the_previous_one(bundled_model_dir, tmp_path):
    directory = tmp_path / "served"
    shutil.copytree(bundled_model_dir, directory)
    client = create_app({"MODEL_DIR": str(directory), "ADMIN_TOKEN": TOKEN,
                         "FEEDBACK_PATH": str(tmp_path / "f.jsonl")}).test_client()
    version = client.get("/model").get_json()["version"]
    for how in ("metadata truncated", "artifact outside the folder"):
        shutil.rmtree(directory)
        shutil.copytree(bundled_model_dir, directory)
        _break(directory, how, tmp_path)
        response = client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 409 and f"still serving {version}" in response.get_json()["error"]["message"]
        assert_clean_error(response, tmp_path)
        assert client.get("/readyz").status_code == 200
        assert client.post("/suggest", json={"text": "日銀"}).get_json()["model"] == version


# --------------------------------------------------------------------------------------------
# the feedback store: unwritable, disk full, torn, never half a record

RECORD = {"text": "保存される例文", "tags": ["#日銀"]}


def _fail_writes_to(path: Path, monkeypatch, fail):
    """Make os.write on ``path`` (and only there) behave as ``fail(descriptor, data)``."""
    real_write = os.write

    def write(descriptor, data):
        try:
            target = os.readlink(f"/proc/self/fd/{descriptor}")
        except OSError:
            target = ""
        if target == str(path):
            return fail(descriptor, data, real_write)
        return real_write(descriptor, data)

    monkeypatch.setattr(os, "write", write)


def _enospc(descriptor, data, real_write):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _half_then_full(descriptor, data, real_write):
    # What a write across the last free block does: part of it lands, then the disk is full.
    return real_write(descriptor, data[: len(data) // 2])


@pytest.mark.parametrize("fault", ["ENOSPC on write", "short write", "EIO on fsync", "flock fails", "EDQUOT on write"])
def test_full_or_failing_store_answers_503_and_keeps_no_partial_record(tmp_path, monkeypatch, bundled_model_dir, fault):
    path = tmp_path / "feedback.jsonl"
    app = create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(path)})
    client = app.test_client()
    assert client.post("/feedback", json={"text": "先に保存済み", "tags": ["#a"]}).status_code == 201
    before = path.read_bytes()
    if fault == "ENOSPC on write":
        _fail_writes_to(path, monkeypatch, _enospc)
    elif fault == "EDQUOT on write":
        _fail_writes_to(path, monkeypatch, lambda *a: (_ for _ in ()).throw(OSError(errno.EDQUOT, "Disk quota exceeded")))
    elif fault == "short write":
        _fail_writes_to(path, monkeypatch, _half_then_full)
    elif fault == "EIO on fsync":
        monkeypatch.setattr(os, "fsync", lambda descriptor: (_ for _ in ()).throw(OSError(errno.EIO, "Input/output error")))
    elif fault == "flock fails":
        monkeypatch.setattr(feedback_store_module.fcntl, "flock",
                            lambda *a: (_ for _ in ()).throw(OSError(errno.ENOLCK, "No locks available")))
    response = client.post("/feedback", json=RECORD)
    assert response.status_code == 503, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "feedback_unavailable" and "nothing was saved" in error["message"]
    assert_clean_error(response, tmp_path)
    assert path.read_bytes() == before  # no partial record, nothing half-written
    monkeypatch.undo()
    assert client.post("/feedback", json=RECORD).status_code == 201  # and it recovers
    assert [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()] == [
        "先に保存済み", RECORD["text"]]


@pytest.mark.parametrize("setup", ["parent is a file", "read-only file", "path is a folder"])
def test_unwritable_store_answers_503(tmp_path, bundled_model_dir, setup):
    if setup == "parent is a file":
        (tmp_path / "blocker").write_text("")
        path = tmp_path / "blocker" / "feedback.jsonl"
    elif setup == "path is a folder":
        path = tmp_path / "feedback.jsonl"
        path.mkdir()
    else:
        path = tmp_path / "feedback.jsonl"
        path.write_text("")
        path.chmod(0o444)
        if os.access(path, os.W_OK):
            pytest.skip("running as root: file permissions do not stop writes (RLIMIT_FSIZE and ENOSPC tests cover it)")
    client = create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(path)}).test_client()
    response = client.post("/feedback", json=RECORD)
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "feedback_unavailable"
    assert_clean_error(response, tmp_path)


@pytest.mark.parametrize("tail, kept", [
    (b'{"text": "torn rec', []),  # a write cut short: never acknowledged, cut off
    (b'{"text": "hand edit", "tags": ["#a"]}', ["hand edit"]),  # whole JSON without its newline: ended
])
def test_torn_last_line_never_joins_the_next_record(tmp_path, tail, kept):
    path = tmp_path / "feedback.jsonl"
    path.write_bytes(b'{"text": "first", "tags": ["#a"]}\n' + tail)
    FeedbackStore(path).append({"text": "next", "tags": ["#b"]})
    texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").split("\n") if line]
    assert texts == ["first", *kept, "next"]
    assert path.read_bytes().endswith(b"\n")


def test_stored_line_escapes_unicode_line_separators(tmp_path):
    path = tmp_path / "feedback.jsonl"
    FeedbackStore(path).append({"text": "a\u2028b\x85c\u2029d", "tags": ["#t"]})
    raw = path.read_bytes()
    assert raw.count(b"\n") == 1 and "\u2028".encode() not in raw and "\x85".encode() not in raw
    assert json.loads(raw)["text"] == "a\u2028b\x85c\u2029d"


# --------------------------------------------------------------------------------------------
# safety: admin token, debug mode, leaks, paths

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


def test_debug_mode_is_off_even_when_the_environment_asks_for_it(bundled_model_dir, tmp_path, monkeypatch):
    """Regression: Flask turns debug on from FLASK_DEBUG=1 in the environment, under gunicorn too."""
    monkeypatch.setenv("FLASK_DEBUG", "1")
    app = create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(tmp_path / "f.jsonl")})
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


def test_production_command_has_no_debug_or_reload_switch():
    from classifier.cli import build_parser

    parser = build_parser()
    serve = next(action for action in parser._subparsers._group_actions[0].choices.items() if action[0] == "serve")[1]
    options = {option for action in serve._actions for option in action.option_strings}
    assert not {option for option in options if "debug" in option or "reload" in option}


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
    assert routes == {"/", "/suggest", "/tags", "/model", "/healthz", "/readyz", "/feedback", "/admin/reload",
                      "/openapi.json"}


@pytest.mark.parametrize("size, status", [(2 * 1024 * 1024 + 1, 413), (2 * 1024 * 1024 - 100, 400)])
def test_request_size_is_capped(served, size, status):
    body = b'{"text": "' + b"a" * (size - 12) + b'"}'
    response = served.test_client().post("/suggest", data=body, content_type="application/json")
    assert response.status_code == status  # over the cap: 413; under it the text limit answers 400
    assert_clean_error(response)


def test_recovering_a_broken_promoted_model_as_the_readme_says(bundled_model_dir, tmp_path):
    """README, "Recovering from a broken model", once a model has been promoted: the service
    serves the pointer; a new folder promoted over a broken model in use, then /admin/reload."""
    from classifier.cli import main

    models = tmp_path / "models"
    shutil.copytree(bundled_model_dir, models / "v1")
    (models / "current").symlink_to("v1")
    _break(models / "v1", "artifact truncated", tmp_path)
    client = create_app({"MODEL_DIR": str(models / "current"), "ADMIN_TOKEN": TOKEN,
                         "FEEDBACK_PATH": str(tmp_path / "f.jsonl")}).test_client()
    assert client.get("/readyz").status_code == 503
    assert client.post("/suggest", json={"text": "日銀"}).status_code == 503
    shutil.copytree(bundled_model_dir, models / "v2")  # stands for `python train.py --out models/v2`
    assert main(["promote", str(models / "v2"), "--pointer", str(models / "current")]) == 0
    assert client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.post("/suggest", json={"text": "日銀は追加利上げを決めた。"}).status_code == 200
