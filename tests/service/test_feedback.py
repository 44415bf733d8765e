"""classifier.service.feedback and the review queue: /feedback stores a pending record with what
the page showed, refuses malformed tags, flags tags the model does not know; a reviewer accepts
or rejects (HTTP behind the admin token, or `python -m classifier feedback`), and only accepted
records reach train.py."""
import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from classifier import create_app, load_corpus, load_model
from classifier.cli import main, main_train
from classifier.overlap import read_digests, text_digest
from classifier.service.feedback_store import FeedbackStore
from tests.support.evaluation import CORPUS
from tests.support.openapi import check_against_contract
from tests.support.service import TOKEN, assert_clean_error

ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def _store(app) -> FeedbackStore:
    return FeedbackStore(app.config["FEEDBACK_PATH"])


def test_feedback_is_stored_pending_with_what_was_shown(client, app, openapi):
    shown = [{"tag": "#日銀", "score": 0.91}, {"tag": "#FRB", "score": 0.2}]
    response = client.post("/feedback", json={"text": "新しいタグの例文です。", "tags": ["#新タグ", "#日銀"],
                                              "post_tags": ["#反ロシア"], "shown": shown})
    assert response.status_code == 201
    check_against_contract(openapi, "/feedback", "post", response)
    answer = response.get_json()
    assert answer["status"] == "pending" and answer["new_tags"] == ["#新タグ"]
    [record] = _store(app).list(status=None)
    assert record["id"] == answer["id"] and record["status"] == "pending"
    assert record["text"] == "新しいタグの例文です。" and record["tags"] == ["#新タグ", "#日銀"]
    assert record["post_tags"] == ["#反ロシア"] and record["shown"] == shown
    assert record["new_tags"] == ["#新タグ"] and record["model"] and record["received"]
    assert record["client"] == "127.0.0.1"


@pytest.mark.parametrize("body, code", [
    ({"text": "x"}, "invalid_tags"),
    ({"text": "x", "tags": "#a"}, "invalid_tags"),
    ({"text": "x", "tags": [""]}, "invalid_tags"),
    ({"text": "x", "tags": [1]}, "invalid_tags"),
    ({"text": "x", "tags": ["no hash"]}, "invalid_tags"),
    ({"text": "x", "tags": ["日銀"]}, "invalid_tags"),
    ({"text": "x", "tags": ["#"]}, "invalid_tags"),
    ({"text": "x", "tags": ["#a b"]}, "invalid_tags"),
    ({"text": "x", "tags": ["#a\u3000b"]}, "invalid_tags"),
    ({"text": "x", "tags": [" #a"]}, "invalid_tags"),
    ({"text": "x", "tags": ["#a\n#b"]}, "invalid_tags"),
    ({"text": "x", "tags": ["#" + "長" * 100]}, "invalid_tags"),
    ({"text": "x", "tags": ["#a"], "post_tags": ["post"]}, "invalid_tags"),
    ({"text": "x", "tags": ["#a"], "shown": "#a"}, "invalid_shown"),
    ({"text": "x", "tags": ["#a"], "shown": [{"tag": "#a", "score": 2}]}, "invalid_shown"),
    ({"text": "", "tags": ["#a"]}, "empty_text"),
    ({"tags": ["#a"]}, "invalid_text"),
    ({"text": "x", "tags": ["#a"], "extra": 1}, "invalid_request"),
])
def test_bad_feedback_is_refused_and_not_stored(client, app, body, code):
    response = client.post("/feedback", json=body)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == code, response.get_json()
    assert_clean_error(response)
    assert _store(app).list(status=None) == []


@pytest.mark.parametrize("body", [
    {"text": "x", "tags": ["\ud800"]},  # regression: was a 500 (UnicodeEncodeError)
    {"text": "x", "tags": ["#a"], "post_tags": ["#\udfff"]},
    {"text": "x", "tags": ["#a"], "post_tags": None},
    {"text": "x", "tags": [["#nested"]]},
    {"text": "x", "tags": ["#a"] * 21},
])
def test_odd_feedback_is_refused_and_nothing_stored(served, body):
    before = _store(served).counts()
    raw = json.dumps(body).encode("utf-8")  # ensure_ascii: surrogates travel as \\ud800 escapes
    response = served.test_client().post("/feedback", data=raw, content_type="application/json")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_tags"
    assert_clean_error(response)
    assert _store(served).counts() == before


# --------------------------------------------------------------------------------------------
# review over HTTP, behind the admin token


def test_review_endpoints_need_the_token_and_are_off_without_one(client, bundled_model_dir, tmp_path, monkeypatch):
    identifier = client.post("/feedback", json={"text": "例文", "tags": ["#日銀"]}).get_json()["id"]
    for method, path in (("get", "/admin/feedback"), ("get", f"/admin/feedback/{identifier}"),
                         ("post", f"/admin/feedback/{identifier}/accept"),
                         ("post", f"/admin/feedback/{identifier}/reject")):
        assert getattr(client, method)(path).status_code == 401
        assert getattr(client, method)(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    monkeypatch.delenv("HASHTAG_ADMIN_TOKEN", raising=False)
    off = create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(tmp_path / "f.sqlite3")}).test_client()
    response = off.get("/admin/feedback", headers={"Authorization": "Bearer "})
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_review_over_http(client, app, openapi):
    first = client.post("/feedback", json={"text": "一つ目", "tags": ["#日銀"]}).get_json()["id"]
    second = client.post("/feedback", json={"text": "二つ目", "tags": ["#新タグ"]}).get_json()["id"]
    listed = client.get("/admin/feedback", headers=ADMIN)
    check_against_contract(openapi, "/admin/feedback", "get", listed)
    assert [r["id"] for r in listed.get_json()["records"]] == [first, second]
    assert listed.get_json()["counts"] == {"pending": 2, "accepted": 0, "rejected": 0}
    accepted = client.post(f"/admin/feedback/{second}/accept", headers=ADMIN)
    check_against_contract(openapi, "/admin/feedback/{id}/accept", "post", accepted)
    assert accepted.get_json()["status"] == "accepted" and accepted.get_json()["new_tags"] == ["#新タグ"]
    assert client.post(f"/admin/feedback/{first}/reject", headers=ADMIN).get_json()["status"] == "rejected"
    shown = client.get(f"/admin/feedback/{first}", headers=ADMIN)
    check_against_contract(openapi, "/admin/feedback/{id}", "get", shown)
    assert shown.get_json()["status"] == "rejected" and shown.get_json()["reviewed"]
    assert client.get("/admin/feedback", headers=ADMIN).get_json()["records"] == []  # nothing pending
    assert [r["id"] for r in client.get("/admin/feedback?status=all", headers=ADMIN).get_json()["records"]] == [
        first, second]
    for path in ("/admin/feedback/999", "/admin/feedback/999/accept", "/admin/feedback/99999999999999999999999"):
        response = client.get(path, headers=ADMIN) if "accept" not in path else client.post(path, headers=ADMIN)
        assert response.status_code == 404, path
        assert_clean_error(response)
    for query in ("status=maybe", "limit=0", "limit=x", "after=-1"):
        assert client.get(f"/admin/feedback?{query}", headers=ADMIN).status_code == 400


# --------------------------------------------------------------------------------------------
# end to end: only accepted feedback reaches train.py


def test_review_flow_end_to_end_and_pending_never_reaches_train_py(bundled_model_dir, tmp_path, monkeypatch, capsys):
    database = tmp_path / "var" / "feedback.sqlite3"
    monkeypatch.setenv("HASHTAG_FEEDBACK_PATH", str(database))
    client = create_app({"MODEL_DIR": str(bundled_model_dir), "ADMIN_TOKEN": TOKEN}).test_client()
    kept = "読者が選んだ採用される例文。日銀の新しい政策について。"
    pending = "まだ確認されていない例文。誰でも送れる文章。"
    rejected = "不採用になる例文。"
    ids = [client.post("/feedback", json={"text": text, "tags": ["#日銀", "#読者タグ"]}).get_json()["id"]
           for text in (kept, pending, rejected)]

    assert main(["feedback", "list"]) == 0
    listed = capsys.readouterr()
    assert all(f"{i} pending" in listed.out.replace("  ", " ") for i in ids) and "new: #読者タグ" in listed.out
    assert "3 pending" in listed.err
    assert main(["feedback", "accept", str(ids[0])]) == 0
    assert "(new tags accepted: #読者タグ)" in capsys.readouterr().out
    assert main(["feedback", "reject", str(ids[2])]) == 0
    assert main(["feedback", "accept", "424242"]) == 2
    assert "no feedback record 424242; nothing changed" in capsys.readouterr().err
    assert main(["feedback", "show", str(ids[1])]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "pending"

    # Export into a training folder, as `feedback export` does into training_data/feedback/.
    training = tmp_path / "training_data"
    training.mkdir()
    shutil.copy(CORPUS, training / "posts.jsonl")
    out = training / "feedback" / "accepted.jsonl"
    assert main(["feedback", "export", "--out", str(out)]) == 0
    assert "1 accepted records written" in capsys.readouterr().out
    assert (out.stat().st_mode & 0o777) == 0o644
    assert [(e.text, e.tags) for e in load_corpus([out])] == [(kept, ("#日銀", "#読者タグ"))]

    assert main_train(["--data", str(training), "--out", str(tmp_path / "model"), "--min-count", "3",
                       "--holdout", "0"]) == 0
    _, metadata = load_model(tmp_path / "model")
    digests = read_digests(tmp_path / "model", metadata)
    assert text_digest(kept) in digests  # train.py read the accepted record
    assert text_digest(pending) not in digests and text_digest(rejected) not in digests
    assert metadata["data"]["n_examples"] == len(load_corpus([CORPUS])) + 1


FEEDBACK_TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=200).filter(str.strip)
FEEDBACK_TAG = st.text(st.characters(exclude_categories=["Cs", "Zs", "Zl", "Zp", "Cc"]), min_size=1,
                       max_size=20).filter(lambda name: not any(c.isspace() for c in name)).map(lambda name: "#" + name)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=FEEDBACK_TEXT, tags=st.lists(FEEDBACK_TAG, min_size=1, max_size=3))
@example(text="一行目\u2028二行目", tags=["#日銀"])
@example(text="NEL\x85と\u2029段落", tags=["#a|b"])
def test_accepted_feedback_reads_back_as_training_data(tmp_path_factory, text, tags):
    """Regression: feedback holding U+2028, U+2029 or U+0085 was stored raw (json.dumps leaves
    them unescaped), and the corpus reader split the line there: the whole training_data/ then
    failed to load. Whatever the service accepts, once accepted, must train."""
    folder = tmp_path_factory.mktemp("roundtrip")
    app = create_app({"MODEL_DIR": str(folder / "no-model-needed"), "FEEDBACK_PATH": str(folder / "f.sqlite3")})
    response = app.test_client().post("/feedback", json={"text": text, "tags": tags})
    assert response.status_code == 201, response.get_json()
    store = _store(app)
    store.review([response.get_json()["id"]], "accepted")
    out = Path(folder / "accepted.jsonl")
    assert store.export_accepted(out) == 1
    raw = out.read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    assert len(raw.decode("utf-8").splitlines()) == 1  # one line, whichever way lines are split
    [read] = load_corpus([out])
    assert read.text == text and list(read.tags) == list(dict.fromkeys(tags))
