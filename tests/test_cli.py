"""classifier.cli: the commands as a user runs them (examples, train, suggest, corpus-stats,
evaluate, serve, annotate), their output and their errors."""
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from classifier import load_corpus
from classifier.cli import main
from classifier.corpus import parse_tag_line
from tests.support.drafts import NATO, SWAP, make_draft
from tests.support.evaluation import CORPUS
from tests.support.paths import FIXTURES, ROOT


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


@pytest.mark.slow
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
    assert lines[0]["tags"][0]["tag"] == "#日銀"
    assert lines[1]["tags"] == [] and lines[1]["post_tags"] == []

    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"id": "a", "text": "FRBのパウエル議長は利下げに慎重な姿勢を示した。"}\n', encoding="utf-8")
    result = run("-m", "classifier", "suggest", "--model", str(out), str(inputs), "--threshold", "0", "--k", "4",
                 "--explain")
    record = json.loads(result.stdout)
    assert record["id"] == "a" and len(record["tags"]) == 4
    assert record["tags"][0]["tag"] == "#FRB"
    assert any(term["term"] == "FRB".lower() or "パウエル" in term["term"] for term in record["tags"][0]["terms"])


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


# --------------------------------------------------------------------------------------------
# evaluate


def test_evaluate_command_with_baseline(tiny_models, tmp_path, capsys):
    good, fewer = tiny_models
    out = tmp_path / "report"
    assert main(["evaluate", "--model", str(good), "--baseline", str(fewer), "--data", str(CORPUS),
                 "--report-dir", str(out)]) == 0
    printed = capsys.readouterr()
    assert re.search(r"^macro_f1 +[\d.]+ +[\d.]+ +\+[\d.]+$", printed.out, re.M)  # the smaller model is worse
    assert "scoring the baseline" in printed.err  # progress
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["baseline"]["per_tag"]["#台湾情勢"]["baseline_f1"] == 0.0
    assert report["baseline"]["delta"]["macro_f1"] > 0
    assert (out / "report.html").is_file() and (out / "errors.jsonl").is_file()


@pytest.mark.parametrize("args, message", [
    (["--cv", "3", "--baseline", "x"], "cannot be combined with --cv"),
    (["--cv", "20"], "20-fold cross-validation needs at least 20 posts, got 10"),
    (["--model", "/nonexistent/model"], "python train.py"),
])
def test_evaluate_command_errors(args, message, capsys):
    assert main(["evaluate", "--data", str(CORPUS), "--min-count", "3", *args]) == 2
    assert message in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# serve: the production server


def test_production_command_has_no_debug_or_reload_switch():
    from classifier.cli import build_parser

    parser = build_parser()
    serve = next(action for action in parser._subparsers._group_actions[0].choices.items() if action[0] == "serve")[1]
    options = {option for action in serve._actions for option in action.option_strings}
    assert not {option for option in options if "debug" in option or "reload" in option}


def post(url, body, content_type="application/json"):
    request = urllib.request.Request(url, data=body if isinstance(body, bytes) else json.dumps(body).encode(),
                                     headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:  # the error holds the response: close it
            return error.code, json.loads(error.read())


def test_production_server_answers_on_loopback(live_server):
    url = live_server["url"]
    status, body = post(f"{url}/suggest", {"texts": ["日銀は追加利上げを決めた。植田総裁が会見した。",
                                                      "ハマスが人質の一部を解放し、ガザへの支援物資の搬入が再開された。"]})
    assert status == 200
    assert [r["tags"][0]["tag"] for r in body["results"]] == ["#日銀", "#ガザ情勢"]
    status, body = post(f"{url}/suggest", b"{broken", "application/json")
    assert status == 400 and body["error"]["code"] == "invalid_json"
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
        assert response.headers["Server"].startswith("gunicorn")  # not Flask's development server


# --------------------------------------------------------------------------------------------
# annotate

def test_cli_output_reads_back_through_the_corpus_reader(bundled_model_dir, tmp_path, capsys):
    draft_file = tmp_path / "draft.txt"
    draft_file.write_text(make_draft(SWAP, NATO, blank=True), encoding="utf-8")
    assert main(["annotate", "--model", str(bundled_model_dir), str(draft_file)]) == 0
    post = tmp_path / "post.txt"
    post.write_text(capsys.readouterr().out, encoding="utf-8")
    assert main(["annotate", "--model", str(bundled_model_dir), "--json", str(draft_file)]) == 0
    answer = json.loads(capsys.readouterr().out)
    examples = load_corpus([post])
    assert [e.text.split("\n") for e in examples] == [b["paragraphs"] for b in answer["blocks"]]
    assert [list(e.tags) for e in examples] == [parse_tag_line(b["line"])[0] for b in answer["blocks"]]
    assert list(examples[0].post_tags) == [item["tag"] for item in answer["post_tags"]]
    assert answer["post"] == post.read_text(encoding="utf-8") and answer["blank_lines"] is True
    assert main(["examples", str(post)]) == 0 and len(capsys.readouterr().out.splitlines()) == 2


def test_cli_reads_standard_input_and_refuses_a_bad_draft(bundled_model_dir, monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("#NATO(要約)\n" + NATO))
    assert main(["annotate", "--model", str(bundled_model_dir), "-"]) == 2
    assert "line 1" in capsys.readouterr().err
