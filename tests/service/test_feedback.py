"""classifier.service.feedback: /feedback stores one JSON line a record, refuses bad records,
and whatever it accepts reads back as training data."""
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from classifier import create_app, load_corpus
from tests.support.openapi import check_against_contract
from tests.support.service import assert_clean_error


def test_feedback_is_stored_as_one_json_line(client, app, openapi):
    response = client.post("/feedback", json={"text": "新しいタグの例文です。", "tags": ["#新タグ", "#日銀"]})
    assert response.status_code == 201
    check_against_contract(openapi, "/feedback", "post", response)
    lines = Path(app.config["FEEDBACK_PATH"]).read_text(encoding="utf-8").splitlines()
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
