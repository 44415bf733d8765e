"""classifier.training: train() on the fixture corpus with posts held out."""
import json


def test_train_writes_the_report_into_the_model_folder(tiny_models):
    good, _ = tiny_models
    report = json.loads((good / "report.json").read_text(encoding="utf-8"))
    assert report["n_examples"] == 15  # the held-out posts
    assert report["model"]["artifact_sha256"] == json.loads((good / "metadata.json").read_text())["artifact_sha256"]
    assert (good / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert all(json.loads(line)["text"] for line in (good / "errors.jsonl").read_text(encoding="utf-8").splitlines())
