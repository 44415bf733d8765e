"""classifier.service.feedback_store: the feedback database (SQLite, WAL) unwritable, full or
failing, written by several processes at once, its writer killed: nothing half-stored, nothing
lost that was acknowledged; its file modes; the one-time import of the old JSON Lines file.

A full disk under the production server is made real with RLIMIT_FSIZE on the gunicorn process:
a write past the limit fails (EFBIG), exactly what a full disk does to ``write``. Tiny tmpfs
mounts need privileges this machine's containers lack; RLIMIT_FSIZE needs none.
"""
import contextlib
import json
import multiprocessing
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

import classifier.service.feedback_store as feedback_store_module
from classifier import create_app
from classifier.service.feedback_store import DATABASE_MODE, FeedbackStore
from tests.support.paths import ROOT
from tests.support.server import production_server
from tests.support.service import assert_clean_error

RECORD = {"text": "保存される例文", "tags": ["#日銀"]}


def _texts(path):
    with contextlib.closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return [row[0] for row in connection.execute("SELECT text FROM feedback ORDER BY id")]


@pytest.mark.parametrize("setup", ["parent is a file", "read-only folder", "path is a folder"])
def test_unwritable_store_answers_503(tmp_path, bundled_model_dir, setup):
    if setup == "parent is a file":
        (tmp_path / "blocker").write_text("")
        path = tmp_path / "blocker" / "feedback.sqlite3"
    elif setup == "path is a folder":
        path = tmp_path / "feedback.sqlite3"
        path.mkdir()
    else:
        (tmp_path / "locked").mkdir()
        (tmp_path / "locked").chmod(0o555)
        path = tmp_path / "locked" / "feedback.sqlite3"
        if os.access(path.parent, os.W_OK):
            pytest.skip("running as root: file permissions do not stop writes (RLIMIT_FSIZE covers it)")
    client = create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(path)}).test_client()
    assert client.get("/readyz").status_code == 200  # the service starts and suggests all the same
    response = client.post("/feedback", json=RECORD)
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "feedback_unavailable"
    assert "nothing was saved" in response.get_json()["error"]["message"]
    assert_clean_error(response, tmp_path)


def test_a_database_path_that_train_py_would_read_is_refused(tmp_path):
    with pytest.raises(ValueError, match="train.py would read it"):
        FeedbackStore(tmp_path / "feedback.jsonl")


def _write_feedback(path, worker, count):
    store = FeedbackStore(path)
    for i in range(count):
        store.add({"text": f"worker {worker} record {i} " + "長い本文" * 200, "tags": [f"#w{worker}"]})


def test_concurrent_writes_from_four_processes_store_every_record_once(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_write_feedback, args=(path, w, 150)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
        assert process.exitcode == 0
    texts = _texts(path)
    assert len(texts) == 600
    for worker in range(4):
        numbers = [int(t.split()[3]) for t in texts if t.startswith(f"worker {worker} ")]
        assert sorted(numbers) == list(range(150))
    with contextlib.closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


WRITER = """
import sys
from classifier.service.feedback_store import FeedbackStore
store = FeedbackStore(sys.argv[1])
for i in range(100000):
    identifier = store.add({"text": f"killed writer {i}", "tags": ["#日銀"]})
    print(identifier, i, flush=True)  # acknowledged: committed and synced
"""


def test_a_killed_writer_loses_nothing_it_acknowledged(tmp_path):
    path = tmp_path / "feedback.sqlite3"
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    acknowledged = []
    try:
        for line in process.stdout:
            acknowledged.append(line.split())
            if len(acknowledged) == 300:
                process.send_signal(signal.SIGKILL)  # mid-way through the next insert, most likely
                break
    finally:
        process.kill()
        process.wait(30)
        process.stdout.close()
    stored = _texts(path)
    assert all(f"killed writer {i}" in stored for _, i in acknowledged)
    assert len(stored) in (len(acknowledged), len(acknowledged) + 1)  # at most the one in flight more
    FeedbackStore(path).add(RECORD)  # and the next writer carries on
    assert _texts(path)[-1] == RECORD["text"]


class _FullDisk(sqlite3.Connection):
    """A connection whose inserts fail as they do on a full disk."""

    def execute(self, sql, *args):
        if sql.lstrip().upper().startswith("INSERT"):
            raise sqlite3.OperationalError("database or disk is full")
        return super().execute(sql, *args)


@pytest.mark.parametrize("fault", ["disk full", "disk I/O error on connect"])
def test_failing_store_answers_503_and_keeps_what_was_stored(tmp_path, monkeypatch, bundled_model_dir, fault):
    path = tmp_path / "feedback.sqlite3"
    client = create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(path)}).test_client()
    assert client.post("/feedback", json={"text": "先に保存済み", "tags": ["#日銀"]}).status_code == 201
    real_connect = sqlite3.connect
    if fault == "disk full":
        monkeypatch.setattr(feedback_store_module.sqlite3, "connect",
                            lambda *a, **k: real_connect(*a, factory=_FullDisk, **k))
    else:
        monkeypatch.setattr(feedback_store_module.sqlite3, "connect",
                            lambda *a, **k: (_ for _ in ()).throw(sqlite3.OperationalError("disk I/O error")))
    response = client.post("/feedback", json=RECORD)
    assert response.status_code == 503, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "feedback_unavailable" and "nothing was saved" in error["message"]
    assert_clean_error(response, tmp_path)
    monkeypatch.undo()
    assert _texts(path) == ["先に保存済み"]
    assert client.post("/feedback", json=RECORD).status_code == 201  # and it recovers
    assert _texts(path) == ["先に保存済み", RECORD["text"]]


def test_database_files_get_their_mode_whatever_the_umask(tmp_path):
    path = tmp_path / "var" / "feedback.sqlite3"
    old = os.umask(0o077)
    try:
        store = FeedbackStore(path)
        with store.connect() as connection:  # held open: the -wal and -shm files exist meanwhile
            connection.execute("BEGIN IMMEDIATE")
            store.add(RECORD, connection)
            connection.execute("COMMIT")
            modes = {p.name: p.stat().st_mode & 0o777 for p in path.parent.iterdir()}
    finally:
        os.umask(old)
    assert modes == {"feedback.sqlite3": DATABASE_MODE, "feedback.sqlite3-wal": DATABASE_MODE,
                     "feedback.sqlite3-shm": DATABASE_MODE}, {k: oct(v) for k, v in modes.items()}
    assert DATABASE_MODE & 0o007 == 0  # client addresses: not for every user of the machine


def test_old_jsonl_feedback_is_imported_once_as_pending_and_renamed_aside(tmp_path):
    from classifier import load_corpus

    training = tmp_path / "training_data"
    training.mkdir()
    legacy = training / "feedback.jsonl"
    legacy.write_text('{"text": "古い記録", "tags": ["#日銀"], "received": "2026-01-01T00:00:00+00:00", "model": "v1"}\n'
                      '{"text": "二つ目", "tags": ["#新タグ"], "post_tags": ["#ウクライナ"]}\n', encoding="utf-8")
    (training / "posts.jsonl").write_text('{"text": "本文", "tags": ["#日銀"]}\n', encoding="utf-8")
    store = FeedbackStore(tmp_path / "feedback.sqlite3", legacy).open()
    records = store.list(status=None)
    assert [(r["text"], r["tags"], r["post_tags"], r["status"]) for r in records] == [
        ("古い記録", ["#日銀"], [], "pending"), ("二つ目", ["#新タグ"], ["#ウクライナ"], "pending")]
    assert records[0]["received"] == "2026-01-01T00:00:00+00:00" and records[0]["origin"] == "import:feedback.jsonl"
    assert not legacy.exists() and (training / "feedback.jsonl.imported").is_file()
    assert [e.text for e in load_corpus([training])] == ["本文"]  # train.py no longer reads it
    # The same file put back is not imported twice.
    (training / "feedback.jsonl.imported").rename(legacy)
    FeedbackStore(tmp_path / "feedback.sqlite3", legacy).open()
    assert len(store.list(status=None)) == 2 and not legacy.exists()


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


@pytest.mark.slow
def test_full_disk_under_the_production_server_keeps_what_was_stored(bundled_model_dir, tmp_path):
    limit = 160_000  # bytes any file of the server may grow to: the disk is full there
    feedback = tmp_path / "feedback.sqlite3"
    results, lock = [], threading.Lock()
    with production_server(bundled_model_dir, feedback, workers=2, threads=4,
                           preexec_fn=_limit_file_size(limit)) as server:
        def send(worker):
            for i in range(30):
                text = f"満杯試験 worker{worker} record{i} " + "本文" * (200 + worker * 70 + i % 5 * 130)
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
    print(f"full disk: {statuses.count(201)} stored, {statuses.count(503)} refused with 503")
    assert len(results) == 240 and set(statuses) <= {201, 503}, sorted(set(statuses))
    assert statuses.count(201) > 10 and statuses.count(503) > 10, (statuses.count(201), statuses.count(503))
    for status, _, body in results:
        if status == 503:
            assert body["error"]["code"] == "feedback_unavailable" and "nothing was saved" in body["error"]["message"]
    accepted = [text for status, text, _ in results if status == 201]
    assert sorted(_texts(feedback)) == sorted(accepted)  # exactly the accepted ones, each once
