"""Faults that need real processes: training killed while it saves, a full disk under the
production server, odd traffic on the socket.

- ``train.py`` killed at every step of saving (a forked trainer SIGKILLs itself at step N, for
  every N), and the real ``python train.py`` killed from outside with SIGKILL and SIGINT while it
  saves: the folder always loads (the previous model, or the complete new one) and a running
  service keeps serving.
- A full disk, made real with RLIMIT_FSIZE on the gunicorn process: a write past the limit
  fails (EFBIG, or a short write across the limit), exactly what a full disk does to ``write``.
  Tiny tmpfs mounts need privileges this machine's containers lack; RLIMIT_FSIZE needs none.
"""
import json
import multiprocessing
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from classifier.persist import METADATA_FILE, load_model
from classifier.service import create_app

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import loadtest  # noqa: E402

BOJ = ["日銀は金融政策決定会合で利上げを決めた", "植田総裁は円安と物価について会見で語った", "日銀が国債の買い入れを減らす方針を示した",
       "日銀の追加利上げ観測で長期金利が上昇した", "日銀は短期金利の誘導目標を据え置いた", "日銀総裁が賃金と物価の好循環に言及した"]
NATO = ["NATOは首脳会議で防衛費の目標を確認した", "NATO加盟国が防空ミサイルの共同調達で合意した", "NATO事務総長がウクライナ支援の継続を訴えた",
        "スウェーデンがNATOに正式に加盟した", "NATOは東欧での部隊配備を拡大する", "NATO国防相会合で弾薬の増産を協議した"]


def tiny_corpus(path: Path, extra: int = 0) -> Path:
    """A corpus that trains in a fraction of a second; ``extra`` changes the model it gives."""
    lines = [{"text": t, "tags": ["#日銀"], "post": f"boj{i}"} for i, t in enumerate(BOJ)]
    lines += [{"text": t, "tags": ["#NATO"], "post": f"nato{i}"} for i, t in enumerate(NATO)]
    lines += [{"text": f"{BOJ[i % 6]}。追加{i}", "tags": ["#日銀"], "post": f"extra{i}"} for i in range(extra)]
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return path


def train_arguments(data: Path, out: Path) -> list[str]:
    return ["--data", str(data), "--out", str(out), "--min-count", "3", "--holdout", "0"]


def artifact_hash(out: Path) -> str:
    return json.loads((out / METADATA_FILE).read_text(encoding="utf-8"))["artifact_sha256"]


@pytest.fixture
def old_model(tmp_path):
    """A folder holding a trained model (the one that must survive) and data for a different one."""
    from classifier.cli import main_train

    out = tmp_path / "models" / "served"
    assert main_train(train_arguments(tiny_corpus(tmp_path / "old.jsonl"), out)) == 0
    return out, artifact_hash(out), tiny_corpus(tmp_path / "new.jsonl", extra=3)


def check_survivor(out: Path, old: str, app) -> str:
    """The folder loads and holds the old or a complete new model; the service keeps serving."""
    model, metadata = load_model(out)
    assert model.suggest(["日銀が利上げ"], threshold=0, k=1)[0][0]["tag"] == "#日銀"
    client = app.test_client()
    assert client.post("/suggest", json={"text": "日銀が利上げ"}).status_code == 200
    reload = client.post("/admin/reload", headers={"Authorization": "Bearer t"})
    assert reload.status_code == 200, reload.get_json()
    assert client.get("/readyz").status_code == 200
    assert client.post("/suggest", json={"text": "日銀が利上げ"}).status_code == 200
    return "old" if metadata["artifact_sha256"] == old else "new"


# --------------------------------------------------------------------------------------------
# killed at every step of the save, from inside

# The filesystem steps of a save: each one is a moment the trainer can die before.
STEPS = [("tempfile", "mkstemp"), ("os", "fchmod"), ("os", "replace"), ("os", "unlink"), ("os", "fsync"),
         ("os", "fdopen"), ("os", "open"), ("os", "close"), ("joblib", "dump")]


def _die_at_step(step: int, half_write: bool, arguments: list[str]):
    """In a forked child: train, and SIGKILL this process just before filesystem call ``step``
    of the save; with ``half_write``, at the fsync of file number ``step`` instead (the
    artifact, then the metadata): the file is cut to half its size, then the process dies."""
    import stat
    import tempfile

    import joblib

    from classifier import persist as persist_module
    from classifier import training as training_module
    from classifier.cli import main_train

    counter = {"n": 0, "saving": False}
    real_save = persist_module.save_model

    def saving(*args, **kwargs):
        counter["saving"] = True
        return real_save(*args, **kwargs)

    def wrap(module, name):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            if not counter["saving"]:
                return real(*args, **kwargs)
            if half_write and (name != "fsync" or not stat.S_ISREG(os.fstat(args[0]).st_mode)):
                return real(*args, **kwargs)
            counter["n"] += 1
            if counter["n"] != step:
                return real(*args, **kwargs)
            if half_write:  # the file's bytes are written, not yet durable: cut in half, then die
                os.ftruncate(args[0], os.fstat(args[0]).st_size // 2)
            os.kill(os.getpid(), signal.SIGKILL)

        setattr(module, name, wrapper)

    modules = {"os": os, "tempfile": tempfile, "joblib": joblib}
    for module, name in STEPS:
        wrap(modules[module], name)
    persist_module.save_model = training_module.save_model = saving
    os._exit(0 if main_train(arguments) == 0 else 3)


def test_train_killed_at_every_step_of_saving_leaves_a_loadable_model(old_model, tmp_path):
    out, old, new_data = old_model
    app = create_app({"MODEL_DIR": str(out), "ADMIN_TOKEN": "t", "FEEDBACK_PATH": str(tmp_path / "f.jsonl")})
    context = multiprocessing.get_context("fork")
    from classifier.cli import main_train

    outcomes = []
    for half_write in (False, True):
        step = 1
        while True:
            child = context.Process(target=_die_at_step, args=(step, half_write, train_arguments(new_data, out)))
            child.start()
            child.join(60)
            assert child.exitcode in (0, -signal.SIGKILL), f"step {step}: exit {child.exitcode}"
            outcomes.append((half_write, step, child.exitcode, check_survivor(out, old, app)))
            if child.exitcode == 0:
                break  # the save finished before reaching step N: every step has been tried
            step += 1
            assert step < 80
            if outcomes[-1][3] == "new":  # back to an old model before the next kill
                assert main_train(train_arguments(tiny_corpus(tmp_path / "old.jsonl"), out)) == 0
                old = artifact_hash(out)  # (the artifact records its fit time: each differs)
        assert main_train(train_arguments(tiny_corpus(tmp_path / "old.jsonl"), out)) == 0
        old = artifact_hash(out)
    killed = [o for o in outcomes if o[2] == -signal.SIGKILL]
    print("kills (half-write, step, exit code, model served after):", outcomes)
    assert len([o for o in killed if not o[0]]) >= 10 and len([o for o in killed if o[0]]) == 2, outcomes
    # Until metadata.json is replaced the old model is what loads, after it the new one; a
    # killed save never leaves a folder that does not load.
    served = [o[3] for o in outcomes if not o[0]]
    assert served[0] == "old" and served[-1] == "new" and served == sorted(served, key=["old", "new"].index)
    assert all(o[3] == "old" for o in killed if o[0])  # a half-written file is never the one served


# --------------------------------------------------------------------------------------------
# the real train.py, killed from outside while it saves

# Runs train.py as `python train.py` does, slowed down at one moment of the save, which it
# announces on stdout so the test can send the signal right then.
SLOWED_TRAIN = r"""
import os, runpy, sys, time
phase = os.environ["KILL_PHASE"]
import joblib
real_dump, real_replace = joblib.dump, os.replace
def dump(value, filename, *args, **kwargs):
    result = real_dump(value, filename, *args, **kwargs)
    if phase == "artifact written, not yet in place":
        print("PHASE", flush=True); time.sleep(30)
    return result
def replace(source, destination, *args, **kwargs):
    if phase == "artifact in place, metadata not yet" and str(destination).endswith("metadata.json"):
        print("PHASE", flush=True); time.sleep(30)
    return real_replace(source, destination, *args, **kwargs)
joblib.dump, os.replace = dump, replace
sys.argv = ["train.py"] + sys.argv[1:]
runpy.run_path("train.py", run_name="__main__")
"""


@pytest.mark.parametrize("phase, signal_number", [
    ("artifact written, not yet in place", signal.SIGKILL),
    ("artifact in place, metadata not yet", signal.SIGKILL),
    ("artifact in place, metadata not yet", signal.SIGINT),
])
def test_train_py_killed_by_a_signal_while_saving_keeps_the_previous_model(old_model, tmp_path, phase, signal_number):
    out, old, new_data = old_model
    app = create_app({"MODEL_DIR": str(out), "ADMIN_TOKEN": "t", "FEEDBACK_PATH": str(tmp_path / "f.jsonl")})
    process = subprocess.Popen([sys.executable, "-c", SLOWED_TRAIN, *train_arguments(new_data, out)], cwd=ROOT,
                               env={**os.environ, "KILL_PHASE": phase, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout.readline().strip() == "PHASE"
        process.send_signal(signal_number)
        assert process.wait(30) != 0
    finally:
        process.kill()
        process.stdout.close()
    assert check_survivor(out, old, app) == "old"
    # The next training goes through and is served.
    from classifier.cli import main_train

    assert main_train(train_arguments(new_data, out)) == 0
    assert check_survivor(out, old, app) == "new"


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
        return error.code, json.loads(error.read())


def test_full_disk_under_the_production_server_loses_nothing_accepted(bundled_model_dir, tmp_path):
    limit = 24_000  # bytes any file of the server may grow to: the disk is full there
    feedback = tmp_path / "feedback.jsonl"
    results, lock = [], threading.Lock()
    with loadtest.production_server(bundled_model_dir, feedback, workers=2, threads=4,
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


# --------------------------------------------------------------------------------------------
# odd traffic on the socket

def _raw_request(url: str, payload: bytes, timeout=30) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        connection.sendall(payload)
        connection.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = connection.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_oversized_and_malformed_requests_on_the_socket(live_server):
    url = live_server["url"]
    head = b"POST /suggest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    # Regression: a chunked body over the 2 MiB cap was cut at the cap and parsed (400 invalid
    # JSON); it is refused with 413.
    body = b'{"text": "' + b"a" * (2 * 1024 * 1024 + 65536) + b'"}'
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 65536]), body[i:i + 65536]) for i in range(0, len(body), 65536))
    answer = _raw_request(url, head + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked + b"0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # A declared length over the cap is refused before the body is read.
    answer = _raw_request(url, head + b"Content-Length: 50000000\r\nConnection: close\r\n\r\n" + b"{")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"Traceback" not in answer
    # Garbage and truncated requests get a 4xx from gunicorn or the app, or a closed connection.
    for payload in (b"\x00\xff\xfe garbage\r\n\r\n", b"POST /suggest HTTP/1.1\r\nContent-Length: 10\r\n\r\n{",
                    b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\n\r\n", head + b"Content-Length: -1\r\n\r\n"):
        answer = _raw_request(url, payload, timeout=10)
        assert answer == b"" or answer.split(b" ")[1][:1] == b"4", answer[:200]
        assert b"Traceback" not in answer and str(ROOT).encode() not in answer
    # And the server is still there.
    with urllib.request.urlopen(f"{url}/readyz", timeout=10) as response:
        assert response.status == 200
