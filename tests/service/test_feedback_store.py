"""classifier.service.feedback_store: the feedback file unwritable, full or failing, torn,
written by several processes at once: never half a record, nothing lost that was accepted.

A full disk under the production server is made real with RLIMIT_FSIZE on the gunicorn process:
a write past the limit fails (EFBIG, or a short write across the limit), exactly what a full
disk does to ``write``. Tiny tmpfs mounts need privileges this machine's containers lack;
RLIMIT_FSIZE needs none.
"""
import errno
import json
import multiprocessing
import os
import resource
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import classifier.service.feedback_store as feedback_store_module
from classifier import create_app
from classifier.service.feedback_store import FeedbackStore
from tests.support.server import production_server
from tests.support.service import assert_clean_error


def test_unwritable_feedback_store_answers_503(bundled_model_dir, tmp_path):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    client = create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(blocked / "f.jsonl")}).test_client()
    response = client.post("/feedback", json={"text": "x", "tags": ["#a"]})
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "feedback_unavailable"


def _write_feedback(path, worker, count):
    store = FeedbackStore(path)
    for i in range(count):
        store.append({"text": f"worker {worker} record {i} " + "長い本文" * 200, "tags": [f"#w{worker}"]})


def test_concurrent_feedback_from_several_processes_is_counted_exactly(tmp_path):
    path = tmp_path / "feedback.jsonl"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_write_feedback, args=(path, w, 150)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 600
    for worker in range(4):
        assert sorted(int(r["text"].split()[3]) for r in records if r["tags"] == [f"#w{worker}"]) == list(range(150))


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
# a full disk under the production server


def _limit_file_size(limit: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _post(url, body, timeout=30):
    request = urllib.request.Request(url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:  # the error holds the response: close it
            return error.code, json.loads(error.read())


def test_full_disk_under_the_production_server_loses_nothing_accepted(bundled_model_dir, tmp_path):
    limit = 24_000  # bytes any file of the server may grow to: the disk is full there
    feedback = tmp_path / "feedback.jsonl"
    results, lock = [], threading.Lock()
    with production_server(bundled_model_dir, feedback, workers=2, threads=4,
                                    preexec_fn=_limit_file_size(limit)) as server:
        def send(worker):
            for i in range(30):
                text = f"満杯試験 worker{worker} record{i} " + "本文" * (worker * 7 + i % 5 * 13)
                status, body = _post(f"{server.url}/feedback", {"text": text, "tags": ["#日銀"]})
                with lock:
                    results.append((status, text, body))

        threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        statuses = [status for status, _, _ in results]
        # The service stays up and keeps suggesting while its disk is full.
        assert _post(f"{server.url}/suggest", {"text": "日銀は追加利上げを決めた。"})[0] == 200
        with urllib.request.urlopen(f"{server.url}/readyz", timeout=10) as response:
            assert response.status == 200
    print(f"full disk: {statuses.count(201)} stored, {statuses.count(503)} refused with 503, "
          f"{len(feedback.read_bytes())} bytes of {limit}")
    assert len(results) == 240 and set(statuses) <= {201, 503}, sorted(set(statuses))
    assert statuses.count(201) > 10 and statuses.count(503) > 10, (statuses.count(201), statuses.count(503))
    for status, _, body in results:
        if status == 503:
            assert body["error"]["code"] == "feedback_unavailable"
            message = body["error"]["message"]
            assert "nothing was saved" in message and ("File too large" in message or "short write" in message)
    raw = feedback.read_bytes()
    assert len(raw) <= limit and raw.endswith(b"\n")
    stored = [json.loads(line)["text"] for line in raw.decode("utf-8").splitlines()]
    accepted = [text for status, text, _ in results if status == 201]
    assert sorted(stored) == sorted(accepted)  # exactly the accepted ones, each once, none torn
