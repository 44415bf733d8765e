import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

FIXTURES = Path(__file__).parent / "fixtures"


def run(*args, stdin=None, cwd=ROOT):
    return subprocess.run([sys.executable, *args], input=stdin, capture_output=True, text=True, cwd=cwd, timeout=300)


def test_examples_prints_one_json_object_per_block():
    result = run("-m", "classifier", "examples", str(FIXTURES / "post_blank_lines.txt"))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["tags"] for r in records] == [["#ウクライナ軍事支援"], ["#ウクライナインフラ攻撃", "#停電"], ["#ウクライナ戦況"], []]
    assert all(set(r) == {"text", "tags", "post_tags", "source"} for r in records)
    assert records[0]["source"].endswith("post_blank_lines.txt:4")


def test_bad_corpus_exits_2_naming_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok", "tags": []}\n{oops}\n', encoding="utf-8")
    result = run("-m", "classifier", "examples", str(bad))
    assert result.returncode == 2
    assert f"{bad}:2: invalid JSON" in result.stderr


def test_train_then_suggest_from_stdin_and_file(tmp_path, bundled_model_dir):
    out = tmp_path / "model"
    result = run("train.py", "--data", str(ROOT / "training_data"), "--out", str(out), "--seed", "3")
    assert result.returncode == 0, result.stderr
    metadata = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["params"]["random_state"] == 3
    assert metadata["holdout"]["scores"]["micro_f1"] > 0.5
    assert "fitting" in result.stderr  # progress is shown

    paragraphs = "日銀は金融政策決定会合で追加の利上げを決めた。\n\n鍋に水を入れてパスタをゆでます。\n"
    result = run("-m", "classifier", "suggest", "--model", str(out), "-", stdin=paragraphs)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["line"] for line in lines] == [1, 3]
    assert lines[0]["suggestions"][0]["tag"] == "#日銀"
    assert lines[1]["suggestions"] == []

    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"id": "a", "text": "FRBのパウエル議長は利下げに慎重な姿勢を示した。"}\n', encoding="utf-8")
    result = run("-m", "classifier", "suggest", "--model", str(out), str(inputs), "--threshold", "0", "--k", "4",
                 "--explain")
    record = json.loads(result.stdout)
    assert record["id"] == "a" and len(record["suggestions"]) == 4
    assert record["suggestions"][0]["tag"] == "#FRB"
    assert any(term["term"] == "FRB".lower() or "パウエル" in term["term"] for term in record["suggestions"][0]["terms"])


def test_corpus_stats_counts_and_warns(tmp_path):
    (tmp_path / "a.txt").write_text("NATOが会合。\n#ＮＡＴＯ(会合)\n五輪の開幕。\n#東京五輪(開幕)\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("NATOの声明。\n二段落目。\n#NATO(声明)\n", encoding="utf-8")
    result = run("-m", "classifier", "corpus-stats", str(tmp_path), "--min-count", "1")
    assert result.returncode == 0, result.stderr
    assert "#NATO                              1          2      1" in result.stdout
    assert "width/case variants of one tag: #NATO, #ＮＡＴＯ" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["suggest", "--model", "/nonexistent/model"], "python train.py"),
    (["examples", "/nonexistent/file.txt"], "no such file or folder"),
])
def test_clear_errors(args, message):
    result = run("-m", "classifier", *args, stdin="")
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
