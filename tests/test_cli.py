"""classifier.cli: the commands as a user runs them (examples, train, suggest, corpus-stats,
evaluate, serve, annotate), their output and their errors."""
import json
import os
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


# --------------------------------------------------------------------------------------------
# evaluating on training data (issue 14, problem 6)


def test_evaluate_on_training_data_says_how_much_overlaps(tiny_models, tmp_path, capsys):
    good, _ = tiny_models  # trained on every post of CORPUS
    out = tmp_path / "report"
    assert main(["evaluate", "--model", str(good), "--data", str(CORPUS), "--report-dir", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: 100% of the evaluation texts (36 of 36) are texts the model was trained on" in err
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["overlap_with_training"] == {"share": 1.0, "n_overlapping": 36, "n_texts": 36}
    assert 'id="overlap-with-training"' in (out / "report.html").read_text(encoding="utf-8")

    fresh = tmp_path / "fresh.jsonl"
    fresh.write_text('{"text": "誰も見たことのない新しい文章です。", "tags": ["#日銀"]}\n'
                     '{"text": "一行目は新しい。\\n二行目も新しい。", "tags": []}\n', encoding="utf-8")
    assert main(["evaluate", "--model", str(good), "--data", str(fresh), "--report-dir", str(out)]) == 0
    assert "trained on" not in capsys.readouterr().err
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["overlap_with_training"] == {"share": 0.0, "n_overlapping": 0, "n_texts": 2}
    assert 'id="overlap-with-training"' not in (out / "report.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# bad input files (issue 14, problem 7): one line naming the file, exit code 2


def _bad_input(tmp_path, fault):
    if fault == "missing":
        return tmp_path / "nothere.txt"
    if fault == "directory":
        folder = tmp_path / "empty-folder"
        folder.mkdir()
        return folder
    path = tmp_path / "input.csv"
    if fault == "unreadable":
        path.write_text("text,tags\n本文,#日銀\n", encoding="utf-8")
        path.chmod(0)
        if os.access(path, os.R_OK):
            pytest.skip("running as root: file permissions do not stop reads")
        return path
    # What Japanese Excel writes for "CSV": Shift_JIS.
    path.write_bytes("text,tags\n日銀は追加利上げを決めた。,#日銀\n".encode("cp932"))
    return path


@pytest.mark.parametrize("fault", ["missing", "directory", "unreadable", "Shift_JIS"])
@pytest.mark.parametrize("command", ["suggest", "annotate", "examples", "evaluate", "train"])
def test_bad_input_is_one_line_naming_it_and_exit_code_2(tiny_models, tmp_path, capsys, command, fault):
    good, _ = tiny_models
    path = _bad_input(tmp_path, fault)
    argv = {"suggest": ["suggest", str(path), "--model", str(good)],
            "annotate": ["annotate", str(path), "--model", str(good)],
            "examples": ["examples", str(path)],
            "evaluate": ["evaluate", "--model", str(good), "--data", str(path)],
            "train": ["train", "--data", str(path), "--out", str(tmp_path / "model"), "--min-count", "3"]}[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if not line.startswith("[")]  # progress lines start with a time
    assert len(errors) == 1 and errors[0].startswith("error: ") and str(path) in errors[0], err
    if fault == "Shift_JIS":
        assert "looks like Shift_JIS (cp932, as Excel writes it): save it as UTF-8" in errors[0]


@pytest.mark.parametrize("size", ["0", "-5"])
@pytest.mark.parametrize("command", [["suggest"], ["annotate", "--jsonl"]])
def test_a_batch_size_below_one_is_one_line_and_exit_code_2(tiny_models, tmp_path, capsys, command, size):
    good, _ = tiny_models
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "日銀は追加利上げを決めた。"}\n', encoding="utf-8")
    assert main([*command, str(path), "--model", str(good), "--batch-size", size]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: --batch-size must be a positive number of lines, got {size}\n"


# --------------------------------------------------------------------------------------------
# suggest on a large input: every core by default, the same output, progress

def _archive(path, paragraphs, bad_at=None):
    lines = [json.dumps({"id": f"p{i}", "text": text}, ensure_ascii=False) for i, text in enumerate(paragraphs)]
    if bad_at is not None:
        lines[bad_at - 1] = "{oops"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_suggest_uses_workers_by_default_on_a_large_file_with_the_same_output(bundled_model_dir, tmp_path,
                                                                             monkeypatch, capsys):
    from classifier import batch
    from tests.support.texts import corpus_paragraphs

    archive = _archive(tmp_path / "archive.jsonl", corpus_paragraphs(400))
    base = ["suggest", "--model", str(bundled_model_dir), str(archive), "--batch-size", "32"]
    assert main(base + ["--jobs", "1"]) == 0
    expected = capsys.readouterr().out
    started = []
    workers = batch._workers

    def recording(*args):
        started.append(args[1])
        return workers(*args)

    monkeypatch.setattr(batch, "_workers", recording)
    monkeypatch.setattr(batch, "usable_cores", lambda: 2)
    assert main(base) == 0  # small: this process only
    assert capsys.readouterr().out == expected and started == []
    monkeypatch.setattr(batch, "PARALLEL_MIN_BYTES", archive.stat().st_size)
    assert main(base) == 0  # large: workers by default
    assert capsys.readouterr().out == expected and started == [None]


def test_suggest_streams_from_a_pipe_in_parallel_and_stops_at_a_bad_line(bundled_model_dir, tmp_path):
    from tests.support.texts import corpus_paragraphs

    paragraphs = corpus_paragraphs(400)
    archive = _archive(tmp_path / "archive.jsonl", paragraphs)
    command = ["-m", "classifier", "suggest", "--model", str(bundled_model_dir), "-", "--batch-size", "8"]
    # a stream of 52 chunks: workers start after PARALLEL_MIN_CHUNKS of them
    one = run(*command, "--jobs", "1", stdin=archive.read_text(encoding="utf-8"))
    many = run(*command, stdin=archive.read_text(encoding="utf-8"))
    assert one.returncode == many.returncode == 0, many.stderr
    assert many.stdout == one.stdout and len(one.stdout.splitlines()) == len(paragraphs)
    assert many.stderr == ""  # no progress when stderr is not a terminal
    bad = _archive(tmp_path / "bad.jsonl", paragraphs, bad_at=250)
    results = [run(*command[:-3], str(bad), "--batch-size", "8", "--jobs", jobs) for jobs in ("1", "2")]
    for result in results:
        assert result.returncode == 2
        assert f"{bad}:250: invalid JSON" in result.stderr and "Traceback" not in result.stderr
    # the chunks before the bad one, in one process or two
    assert results[0].stdout == results[1].stdout == "".join(one.stdout.splitlines(True)[:248])


def test_suggest_progress_when_asked(bundled_model_dir, tmp_path):
    from tests.support.texts import corpus_paragraphs

    archive = _archive(tmp_path / "archive.jsonl", corpus_paragraphs(200))
    result = run("-m", "classifier", "suggest", "--model", str(bundled_model_dir), str(archive), "--progress")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^[\d,]+ paragraphs in \d+ s, [\d,]+/s$", result.stderr, re.M), result.stderr


def test_progress_line_has_count_rate_share_and_time_left():
    import io

    from classifier.progress import Progress

    now = [0.0]
    out = io.StringIO()
    progress = Progress("paragraphs", total_bytes=4_000_000, enabled=True, stream=out, clock=lambda: now[0])
    progress.update(1000, 100_000)
    assert out.getvalue() == ""  # nothing in the first 2 s
    now[0] = 4.0
    progress.update(19_000, 1_000_000)
    assert out.getvalue() == "20,000 paragraphs, 5,000/s, 4 s, 25% of 4.0 MB, about 12 s left\n"
    now[0] = 16.0
    progress.update(60_000, 4_000_000)
    progress.close()
    assert out.getvalue().splitlines()[-1] == "80,000 paragraphs in 16 s, 5,000/s"


def test_the_parser_builds_without_scikit_learn_and_keeps_promote_s_tolerance():
    """Building the parser (every command, `suggest` on ten lines included) must not import
    scikit-learn: `suggest` starts its workers before it does."""
    code = ("import sys; from classifier.cli import build_parser; parser = build_parser(); "
            "print('sklearn' in sys.modules, parser.parse_args(['promote', 'x']).tolerance)")
    result = run("-c", code)
    assert result.returncode == 0, result.stderr
    from classifier.promote import DEFAULT_TOLERANCE

    assert result.stdout.split() == ["False", str(DEFAULT_TOLERANCE)]


def test_the_default_model_is_trained_when_missing_or_of_an_older_format(tmp_path, monkeypatch, capsys):
    # After an update of the code, the default model (made of the bundled corpus) is rebuilt, not refused.
    import json

    from classifier import training
    from classifier.cli import common
    from classifier.persist import MODEL_FORMAT

    default, other = tmp_path / "default", tmp_path / "other"
    monkeypatch.setattr(common, "DEFAULT_MODEL", default)
    trained = []
    monkeypatch.setattr(training, "train", lambda data, out: trained.append(out))
    common.ensure_default_model(str(default))  # missing
    default.mkdir()
    (default / "metadata.json").write_text(json.dumps({"model_format": MODEL_FORMAT - 1}), encoding="utf-8")
    common.ensure_default_model(str(default))  # older format
    (default / "metadata.json").write_text(json.dumps({"model_format": MODEL_FORMAT}), encoding="utf-8")
    common.ensure_default_model(str(default))  # current: kept
    common.ensure_default_model(str(other))  # never another folder
    for damaged in ("{not json", "[1, 2]"):  # loading it says what is wrong; it is not trained over
        (default / "metadata.json").write_text(damaged, encoding="utf-8")
        common.ensure_default_model(str(default))
    assert trained == [default, default]
    assert f"has format {MODEL_FORMAT - 1}, this code reads format {MODEL_FORMAT}" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# annotate --jsonl: many drafts, in one process or many

def _drafts_file(path, drafts, ids=True):
    lines = [json.dumps({"id": f"d{n}", "text": d} if ids else {"text": d}, ensure_ascii=False) for n, d in enumerate(drafts)]
    path.write_text("\n".join(lines[:2] + [""] + lines[2:]) + "\n", encoding="utf-8")  # a blank line is skipped
    return path


def test_annotate_jsonl_gives_each_draft_what_annotate_json_gives_it_in_one_process_or_two(
        bundled_model_dir, tmp_path, capsys, monkeypatch):
    from classifier import batch

    drafts = [make_draft(SWAP, NATO), make_draft(NATO, blank=True), make_draft(SWAP), "#対中露戦\n",
              make_draft(NATO, SWAP) + "#反ロシア\n"]
    path = _drafts_file(tmp_path / "drafts.jsonl", drafts)
    base = ["annotate", "--model", str(bundled_model_dir), "--jsonl", str(path), "--batch-size", "2"]
    assert main(base + ["--jobs", "1"]) == 0
    one = capsys.readouterr().out
    records = [json.loads(line) for line in one.splitlines()]
    assert [(r["id"], r["line"]) for r in records] == [("d0", 1), ("d1", 2), ("d2", 4), ("d3", 5), ("d4", 6)]
    for draft, record in zip(drafts, records):
        single = tmp_path / "single.txt"
        single.write_text(draft, encoding="utf-8")
        assert main(["annotate", "--model", str(bundled_model_dir), "--json", str(single)]) == 0
        assert {k: v for k, v in record.items() if k not in ("id", "line")} == json.loads(capsys.readouterr().out)
    assert records[3]["blocks"] == [] and records[4]["post_tag_lines"] == ["#反ロシア"]
    monkeypatch.setattr(batch, "usable_cores", lambda: 2)
    assert main(base + ["--jobs", "2", "--progress"]) == 0
    output = capsys.readouterr()
    assert output.out == one and re.search(r"^5 drafts in \d+ s, [\d,]+/s$", output.err, re.M), output.err
    monkeypatch.setattr(batch, "ANNOTATE_PARALLEL_MIN_BYTES", path.stat().st_size)
    started = []
    workers = batch._workers
    monkeypatch.setattr(batch, "_workers", lambda *args: started.append(args[1]) or workers(*args))
    assert main(base) == 0  # as large as the limit: workers by default
    assert capsys.readouterr().out == one and started == [None]


@pytest.mark.parametrize("line, message", [
    ("not json", ":2: invalid JSON"),
    ('{"id": 1}', ":2: a JSON input line needs a string 'text'"),
    ('{"text": "#NATO(要約)\\nNATOは会合を開いた。"}', ":2: the draft's line 1: a tag line closes a block"),
])
def test_annotate_jsonl_stops_at_a_bad_line_naming_it(bundled_model_dir, tmp_path, line, message):
    path = tmp_path / "drafts.jsonl"
    path.write_text(json.dumps({"text": make_draft(SWAP)}, ensure_ascii=False) + "\n" + line + "\n", encoding="utf-8")
    result = run("-m", "classifier", "annotate", "--model", str(bundled_model_dir), "--jsonl", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {path}{message}"), result.stderr
    assert result.stdout == ""  # nothing of a chunk with a bad line is printed


def test_annotate_one_draft_refuses_the_options_of_many(bundled_model_dir, tmp_path, capsys):
    draft = tmp_path / "draft.txt"
    draft.write_text(make_draft(SWAP), encoding="utf-8")
    assert main(["annotate", "--model", str(bundled_model_dir), str(draft), "--jobs", "2"]) == 2
    assert "use them with --jsonl" in capsys.readouterr().err


def test_the_command_line_keeps_blas_to_one_thread_unless_the_environment_says(monkeypatch):
    import gc

    from classifier import cli

    seen = []
    monkeypatch.setattr(cli, "main", lambda: seen.append(os.environ.get("OPENBLAS_NUM_THREADS")) or 0)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    try:
        with pytest.raises(SystemExit) as exit_info:
            cli.command_line()
        assert exit_info.value.code == 0
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
        with pytest.raises(SystemExit):
            cli.command_line()
    finally:
        gc.unfreeze()  # command_line freezes every object on its way out
    assert seen == ["1", "3"]
