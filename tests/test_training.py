"""classifier.training: train() on the fixture corpus with posts held out."""
import json


def test_train_writes_the_report_into_the_model_folder(tiny_models):
    good, _ = tiny_models
    report = json.loads((good / "report.json").read_text(encoding="utf-8"))
    assert report["n_examples"] == 15  # the held-out posts
    assert report["model"]["artifact_sha256"] == json.loads((good / "metadata.json").read_text())["artifact_sha256"]
    assert (good / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert all(json.loads(line)["text"] for line in (good / "errors.jsonl").read_text(encoding="utf-8").splitlines())


import csv
import subprocess
import sys

import pytest

from tests.support.paths import ROOT


def _train_py(*args):
    return subprocess.run([sys.executable, "train.py", *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def _csv(path, counts):
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["text", "tags"])
        for tag, n in counts.items():
            for i in range(n):
                writer.writerow([f"{tag[1:]}についての記事その{i}。関連する話題を伝えた。", tag])


@pytest.mark.slow
def test_min_count_is_counted_on_every_post_and_dropped_tags_are_named_on_stderr(tmp_path):
    """Issue 14, problem 5: on 3 labels x 10 texts train.py kept one tag (min_count counted after
    the held-out posts were removed), and dropped labels without a word."""
    _csv(tmp_path / "three.csv", {"#地震": 10, "#日銀": 10, "#選挙": 10})
    result = _train_py("--data", tmp_path / "three.csv", "--out", tmp_path / "three")
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads((tmp_path / "three" / "metadata.json").read_text())["tags"]) == ["#地震", "#日銀", "#選挙"]
    assert "not learned" not in result.stderr

    _csv(tmp_path / "rare.csv", {"#地震": 10, "#日銀": 10, "#選挙": 4})
    result = _train_py("--data", tmp_path / "rare.csv", "--out", tmp_path / "rare")
    assert result.returncode == 0, result.stderr
    assert "1 tags have fewer than 10 examples" in result.stderr and "#選挙 (4 examples)" in result.stderr
    assert "--min-count N changes the limit" in result.stderr
    assert "#選挙" not in result.stdout  # stdout holds the scores only


@pytest.mark.slow
def test_too_few_examples_is_said_with_the_counts_the_user_wrote_and_the_flag(tmp_path):
    """Issue 14, problem 5: a label written 10 times was reported as ('#地震', 6)."""
    lines = [json.dumps({"text": f"{tag}の記事その{i}。", "tags": [tag]}, ensure_ascii=False)
             for tag in ("#地震", "#日銀") for i in range(10)]
    (tmp_path / "few.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _train_py("--data", tmp_path / "few.jsonl", "--out", tmp_path / "few", "--min-count", "11")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: no tag has at least 11 examples"), error
    assert "#地震 (10)" in error and "#日銀 (10)" in error and "--min-count" in error
