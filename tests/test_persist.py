"""classifier.persist: saving and loading a model folder, every load check, and atomic saves.

The second half needs real processes: ``train.py`` killed at every step of saving (a forked
trainer SIGKILLs itself at step N, for every N), and the real ``python train.py`` killed from
outside with SIGKILL and SIGINT while it saves: the folder always loads (the previous model, or
the complete new one) and a running service keeps serving.
"""
import json
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from classifier import create_app, load_model, save_model
from classifier.persist import METADATA_FILE, ModelLoadError
from tests.support.corpora import tiny_corpus
from tests.support.paths import ROOT


def test_save_and_load_round_trip(tiny_model, tmp_path):
    save_model(tiny_model, tmp_path, {"note": "test"})
    loaded, metadata = load_model(tmp_path)
    assert loaded.get_params() == tiny_model.get_params()
    texts = ["日銀が利上げ", "NATOが会合", "大雨"]
    assert np.array_equal(loaded.predict_proba(texts), tiny_model.predict_proba(texts))
    assert metadata["note"] == "test" and len(metadata["artifact_sha256"]) == 64
    assert "scikit-learn" in metadata["versions"]


def test_load_refuses_truncated_artifact(tiny_model, tmp_path):
    save_model(tiny_model, tmp_path, {})
    artifact = next(tmp_path.glob("model-*.npz"))
    artifact.write_bytes(artifact.read_bytes()[:100])
    with pytest.raises(ModelLoadError, match="does not match the hash"):
        load_model(tmp_path)


def test_load_refuses_another_tokenizer_and_accepts_other_numeric_libraries(tiny_model, tmp_path):
    # The artifact is plain arrays: any NumPy reads them alike; the words are MeCab's and its dictionary's.
    save_model(tiny_model, tmp_path, {})
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    metadata["versions"].update({"scikit-learn": "0.1", "numpy": "0.1", "scipy": "0.1"})
    (tmp_path / "metadata.json").write_text(json.dumps(metadata))
    assert load_model(tmp_path)[0].suggest(["日銀が利上げ"], threshold=0)[0]["tags"]
    metadata["versions"]["fugashi"] = "0.1"
    (tmp_path / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelLoadError, match="fugashi 0.1"):
        load_model(tmp_path)


def test_load_of_missing_model_says_how_to_recover(tmp_path):
    with pytest.raises(ModelLoadError, match="python train.py"):
        load_model(tmp_path / "nothing")


def test_crash_while_saving_leaves_previous_model_loadable(tiny_model, tmp_path, monkeypatch):
    save_model(tiny_model, tmp_path, {"generation": 1})

    def crash(source, destination):
        raise KeyboardInterrupt("killed while saving, the new artifact written but not in place")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        save_model(tiny_model, tmp_path, {"generation": 2})
    model, metadata = load_model(tmp_path)
    assert metadata["generation"] == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert len(list(tmp_path.glob("model-*.npz"))) == 1


def test_tokenizer_is_the_same_in_training_and_serving(tiny_model, tmp_path):
    save_model(tiny_model, tmp_path, {})
    loaded, _ = load_model(tmp_path)
    text = "ＮＡＴＯ加盟国が弾薬を増産 https://t.co/x1 #nhk_news"
    assert loaded.tokenizer_(text) == tiny_model.build_tokenizer()(text)
    assert os.path.exists(tmp_path / "metadata.json")


@pytest.mark.parametrize("change, message", [
    ({"artifact": "../elsewhere/model-0123456789abcdef.npz"}, "not a model file of this folder"),
    ({"artifact": "/etc/passwd"}, "not a model file of this folder"),
    ({"model_format": 1}, "has format 1"),
])
def test_load_refuses_foreign_artifacts_and_old_formats(tiny_model, tmp_path, change, message):
    save_model(tiny_model, tmp_path, {})
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    metadata.update(change)
    (tmp_path / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelLoadError, match=message):
        load_model(tmp_path)


def test_save_cleans_up_after_a_killed_save_and_is_readable_by_others(tiny_model, tmp_path):
    (tmp_path / ".artifact-left.tmp").write_bytes(b"from a killed save")
    save_model(tiny_model, tmp_path, {})
    assert not list(tmp_path.glob(".*.tmp"))
    assert all(p.stat().st_mode & 0o044 == 0o044 for p in tmp_path.iterdir())


# --------------------------------------------------------------------------------------------
# killed at every step of the save, from inside


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
    assert model.suggest(["日銀が利上げ"], threshold=0, k=1)[0]["tags"][0]["tag"] == "#日銀"
    client = app.test_client()
    assert client.post("/suggest", json={"text": "日銀が利上げ"}).status_code == 200
    reload = client.post("/admin/reload", headers={"Authorization": "Bearer t"})
    assert reload.status_code == 200, reload.get_json()
    assert client.get("/readyz").status_code == 200
    assert client.post("/suggest", json={"text": "日銀が利上げ"}).status_code == 200
    return "old" if metadata["artifact_sha256"] == old else "new"


# The filesystem steps of a save: each one is a moment the trainer can die before.
STEPS = [("tempfile", "mkstemp"), ("os", "fchmod"), ("os", "replace"), ("os", "unlink"), ("os", "fsync"),
         ("os", "fdopen"), ("os", "open"), ("os", "close"), ("numpy", "savez_compressed")]


def _die_at_step(step: int, half_write: bool, arguments: list[str]):
    """In a forked child: train, and SIGKILL this process just before filesystem call ``step``
    of the save; with ``half_write``, at the fsync of file number ``step`` instead (the
    artifact, then the metadata): the file is cut to half its size, then the process dies."""
    import stat
    import tempfile

    import numpy

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

    modules = {"os": os, "tempfile": tempfile, "numpy": numpy}
    for module, name in STEPS:
        wrap(modules[module], name)
    persist_module.save_model = training_module.save_model = saving
    os._exit(0 if main_train(arguments) == 0 else 3)


@pytest.mark.slow
def test_train_killed_at_every_step_of_saving_leaves_a_loadable_model(old_model, tmp_path):
    out, old, new_data = old_model
    app = create_app({"MODEL_DIR": str(out), "ADMIN_TOKEN": "t", "FEEDBACK_PATH": str(tmp_path / "f.sqlite3")})
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
# announces on stdout so the test can send the signal right then. The pause is many short sleeps:
# a signal that lands between the announcement and one long sleep would wait for its end.
SLOWED_TRAIN = r"""
import os, runpy, sys, time
phase = os.environ["KILL_PHASE"]
import numpy
real_dump, real_replace = numpy.savez_compressed, os.replace
def dump(file, *args, **kwargs):
    result = real_dump(file, *args, **kwargs)
    if phase == "artifact written, not yet in place":
        print("PHASE", flush=True); [time.sleep(0.1) for _ in range(300)]
    return result
def replace(source, destination, *args, **kwargs):
    if phase == "artifact in place, metadata not yet" and str(destination).endswith("metadata.json"):
        print("PHASE", flush=True); [time.sleep(0.1) for _ in range(300)]
    return real_replace(source, destination, *args, **kwargs)
numpy.savez_compressed, os.replace = dump, replace
sys.argv = ["train.py"] + sys.argv[1:]
runpy.run_path("train.py", run_name="__main__")
"""


def _interruptible():
    # A suite started in the background (`cmd &` in a script) inherits SIGINT ignored, and Python
    # keeps it ignored: the child must see Ctrl-C as a terminal would deliver it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("phase, signal_number", [
    ("artifact written, not yet in place", signal.SIGKILL),
    ("artifact in place, metadata not yet", signal.SIGKILL),
    ("artifact in place, metadata not yet", signal.SIGINT),
])
def test_train_py_killed_by_a_signal_while_saving_keeps_the_previous_model(old_model, tmp_path, phase, signal_number):
    out, old, new_data = old_model
    app = create_app({"MODEL_DIR": str(out), "ADMIN_TOKEN": "t", "FEEDBACK_PATH": str(tmp_path / "f.sqlite3")})
    process = subprocess.Popen([sys.executable, "-c", SLOWED_TRAIN, *train_arguments(new_data, out)], cwd=ROOT,
                               env={**os.environ, "KILL_PHASE": phase, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               preexec_fn=_interruptible)
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


def test_every_file_of_a_model_folder_and_a_report_folder_is_0644_whatever_the_umask(tmp_path):
    """Issue 14, problem 8: report.html and errors.jsonl were written 0600 while report.json got
    0644. Every file goes through persist.write_atomic (FILE_MODE)."""
    from classifier import train
    from classifier.cli import main
    from classifier.persist import FILE_MODE
    from tests.support.evaluation import CORPUS

    old = os.umask(0o077)
    try:
        train([CORPUS], tmp_path / "model", holdout=0.3, progress=lambda message: None, min_count=3)
        assert main(["evaluate", "--model", str(tmp_path / "model"), "--data", str(CORPUS),
                     "--report-dir", str(tmp_path / "report")]) == 0
    finally:
        os.umask(old)
    files = [*(tmp_path / "model").iterdir(), *(tmp_path / "report").iterdir()]
    assert {p.name for p in files} >= {"metadata.json", "report.json", "report.html", "errors.jsonl",
                                        "training_texts.sha256"}
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in files} == {p.name: oct(FILE_MODE) for p in files}
