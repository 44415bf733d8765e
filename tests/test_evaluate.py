"""Evaluation reports: metrics against hand-computed values, the files and the page, the
evaluate command (--cv, --baseline, other corpora) and promotion."""
import json
import re
from pathlib import Path

import numpy as np
import pytest

from classifier.cli import main
from classifier.corpus import Example, load_corpus
from classifier.evaluate import METRIC_KEYS, calibration, error_records, evaluate, evaluation_tags, score
from classifier.model import HashtagModel, fit_examples
from classifier.persist import load_model
from classifier.promote import current_target, point_to, promote
from classifier.report import build_report, compare, write_report
from classifier.report_html import render_html
from classifier.training import train
from tests.conftest import ROOT

FIXTURES = Path(__file__).parent / "fixtures"
MULTILABEL = FIXTURES / "eval_multilabel.jsonl"
CORPUS = FIXTURES / "eval_corpus.jsonl"


class StubModel:
    """The parts of HashtagModel that evaluation reads, with fixed scores per text."""

    def __init__(self, scores: dict, classes, threshold=0.5, k=2, scopes=None):
        self.classes_ = np.array(classes, dtype=object)
        self.thresholds_ = np.full(len(classes), threshold)
        self.scopes_ = scopes or {tag: "block" for tag in classes}
        self.k = k
        self.tag_counts_ = {tag: 1 for tag in classes}
        self._scores = scores

    def predict_proba(self, texts):
        return np.array([[self._scores[text].get(tag, 0.0) for tag in self.classes_] for text in texts])

    def get_params(self):
        return {"k": self.k}


@pytest.fixture(scope="module")
def multilabel():
    """Eight texts, tags #A #B #C at threshold 0.5, k = 2 (see the table in the fixture file):

    text  gold   scores A/B/C      suggested   outcome
    1     A      .9  .6  .1        A B         B wrong
    2     A B    .7  .2  .4        A           B missed
    3     B      .3  .8  .7        B C         C wrong
    4     -      .1  .2  .3        -           correctly empty
    5     -      .2  .1  .6        C           false alarm
    6     C      .48 .1  .45       -           wrongly empty (best tag A is wrong too)
    7     #D     .1  .1  .1        -           #D is unknown to the model: no gold, correctly empty
    8     A      .2  .9  .3        B           A missed, B in its place
    """
    examples = load_corpus([MULTILABEL])
    records = [json.loads(line) for line in MULTILABEL.read_text(encoding="utf-8").splitlines()]
    model = StubModel({r["text"]: r["scores"] for r in records}, ["#A", "#B", "#C"])
    return model, examples


def test_metrics_match_hand_computed_values(multilabel):
    model, examples = multilabel
    report = evaluate(model, examples)
    assert report["n_examples"] == 8 and report["n_labelled"] == 5
    assert report["k"] == 2 and report["threshold"] == "per-tag"
    # A: 2 of 2 suggestions right, 2 of 3 gold found. B: 1 of 3, 1 of 2. C: 0 of 2, 0 of 1.
    assert {tag: (s["precision"], s["recall"], s["f1"], s["support"], s["predicted"])
            for tag, s in report["per_tag"].items()} == {
        "#A": (1.0, 0.6667, 0.8, 3, 2), "#B": (0.3333, 0.5, 0.4, 2, 3), "#C": (0.0, 0.0, 0.0, 1, 2)}
    # 3 right of 7 suggested, of 6 gold: F1 = 2*3 / (7+6).
    assert report["micro"] == {"precision": 0.4286, "recall": 0.5, "f1": 0.4615}
    assert report["macro"] == {"precision": 0.4444, "recall": 0.3889, "f1": 0.4}
    # Best tag right for texts 1, 2, 3; wrong for 6 (A) and 8 (B).
    assert report["top1_accuracy"] == 0.6
    # Gold ranked in the top 2 whatever the score: 1A 2A 3B 6C yes, 2B 8A no.
    assert report["recall_at_k"] == 0.6667
    assert report["abstention"] == {"texts_without_gold": 3, "correctly_empty": 0.6667, "labelled_texts": 5,
                                    "wrongly_empty": 0.2, "block_labelled_texts": 5, "wrongly_empty_block": 0.2}
    assert report["confusions"] == [{"gold": "#A", "predicted": "#B", "count": 1}]
    # Sum of squared errors over the 24 (text, tag) pairs: 4.5529.
    assert report["calibration"]["overall"]["brier"] == 0.1897
    assert report["calibration"]["overall"]["n_positive"] == 6


def test_one_threshold_and_k_change_the_decisions(multilabel):
    model, examples = multilabel
    report = evaluate(model, examples, k=1, threshold=0.0)
    # k = 1 and no threshold: one suggestion a text, never empty; it is the best tag, so
    # micro precision is the share of the 8 best tags that are gold (texts 1, 2, 3).
    assert report["threshold"] == 0.0
    assert report["micro"]["precision"] == 0.375
    assert report["abstention"]["correctly_empty"] == 0.0 and report["abstention"]["wrongly_empty"] == 0.0
    with pytest.raises(ValueError, match="threshold must be between 0 and 1, got 1.5"):
        evaluate(model, examples, threshold=1.5)
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        evaluate(model, examples, k=0)
    with pytest.raises(ValueError, match="zero examples"):
        evaluate(model, [])


def test_large_inputs_are_scored_in_batches_with_progress(multilabel, monkeypatch):
    import classifier.evaluate as evaluation

    model, examples = multilabel
    monkeypatch.setattr(evaluation, "BATCH_SIZE", 3)
    messages = []
    report = evaluate(model, examples, progress=messages.append)
    assert messages == ["scored 3/8 texts", "scored 6/8 texts", "scored 8/8 texts"]
    assert report["micro"]["f1"] == 0.4615  # the same numbers as in one batch


def test_calibration_by_hand():
    # Two bins: [0, .5) holds .1 and .3 (mean .2, half gold), [.5, 1] holds .8 and .9 (mean .85, all
    # gold). ECE = 2/4 * |.5 - .2| + 2/4 * |1 - .85| = .225; Brier = (.01 + .49 + .04 + .01) / 4.
    result = calibration(np.array([0.1, 0.3, 0.8, 0.9]), np.array([0, 1, 1, 1]), bins=2)
    assert result["ece"] == 0.225 and result["brier"] == 0.1375
    assert [(b["n"], b["mean_score"], b["observed"]) for b in result["curve"]] == [(2, 0.2, 0.5), (2, 0.85, 1.0)]
    # A score of exactly 1 belongs to the last bin.
    assert calibration(np.array([1.0]), np.array([1]), bins=2)["curve"][0]["low"] == 0.5


def test_errors_list_every_wrong_or_missed_suggestion_worst_first(multilabel):
    model, examples = multilabel
    errors = error_records(score(model, examples), examples)
    # cost: text 8 = .9 (B wrong) + .8 (A missed); 2 = .8; 3 = .7; 1 = .6; 5 = .6; 6 = .55.
    assert [(e["source"].rsplit(":", 1)[1], e["kind"], e["cost"]) for e in errors] == [
        ("8", "confused", 1.7), ("2", "missed", 0.8), ("3", "wrong", 0.7), ("1", "wrong", 0.6),
        ("5", "false_alarm", 0.6), ("6", "wrongly_empty", 0.55)]
    worst = errors[0]
    assert worst["gold"] == ["#A"] and worst["wrong"] == ["#B"]
    assert worst["suggested"] == [{"tag": "#B", "score": 0.9}]
    assert worst["missed"] == [{"tag": "#A", "score": 0.2}]
    assert worst["text"] == "八: 日銀の総裁"


def test_report_curves_heat_map_and_keys(multilabel, tmp_path):
    model, examples = multilabel
    report, errors = build_report(model, examples, data_paths=[MULTILABEL])
    at = {point["threshold"]: point for point in report["threshold_curve"]}
    # At 0.5 the curve is the report's own operating point; at 0.05 every top-2 tag is suggested:
    # 16 suggestions, 4 of them gold, of 6 gold.
    assert (at[0.5]["precision"], at[0.5]["recall"]) == (report["micro"]["precision"], report["micro"]["recall"])
    assert (at[0.05]["precision"], at[0.05]["recall"]) == (0.25, 0.6667)
    matrix = report["confusion_matrix"]
    assert matrix["columns"] == ["#A", "#B", "#C", "(other)", "(none)"]
    assert matrix["counts"] == [[2, 2, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 0, 0, 1]]
    assert report["corpus"]["kind"] == "multi-label"
    assert report["corpus"]["unknown_labels"] == {"#D": 1}
    assert report["n_errors"] == len(errors) == 6

    paths = write_report(tmp_path, report, errors)
    saved = json.loads(paths["report.json"].read_text(encoding="utf-8"))
    for key in ("n_examples", "top1_accuracy", "micro", "macro", "recall_at_k", "k", "per_tag", "confusions",
                "abstention", "calibration", "threshold", "model"):
        assert key in saved
    lines = paths["errors.jsonl"].read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["kind"] for line in lines][:2] == ["confused", "missed"]
    # Every top-level key is documented for the people and scripts that read it.
    documented = (ROOT / "REPORTS.md").read_text(encoding="utf-8")
    assert [key for key in saved if f"`{key}`" not in documented] == []


def test_post_tags_are_not_scored_on_a_corpus_without_them(multilabel):
    model, examples = multilabel
    scopes = {"#A": "block", "#B": "block", "#C": "block", "#P": "post"}
    with_post = StubModel(model._scores, ["#A", "#B", "#C", "#P"], scopes=scopes)
    assert list(evaluation_tags(with_post, examples)) == ["#A", "#B", "#C"]
    report = build_report(with_post, examples)[0]
    assert set(report["per_tag"]) == {"#A", "#B", "#C"}
    assert "the corpus has no post tags: the model's 1 post tags are not scored" in report["notes"]
    # A corpus that has post tags judges them.
    with_post_tags = [Example(e.text, e.tags, ("#P",), e.source, e.group) for e in examples]
    assert "#P" in evaluation_tags(with_post, with_post_tags)


def test_baseline_scores_both_models_on_the_union_of_their_tags(multilabel):
    model, examples = multilabel
    # The baseline does not know #C: text 6's #C counts as missed for it, not as "no gold".
    smaller = StubModel(model._scores, ["#A", "#B"])
    report, _ = build_report(model, examples, baseline=(smaller, {}, "smaller"))
    baseline = report["baseline"]
    assert baseline["per_tag"]["#C"]["baseline_f1"] == 0.0 and baseline["per_tag"]["#C"]["support"] == 1
    assert report["per_tag"]["#C"]["known"] is True
    # The baseline makes no #C mistakes (texts 3 and 5 lose a wrong C) and misses the #C of text 6:
    # 3 right of 5 suggested, of 6 gold.
    assert baseline["scores"]["micro_precision"] == 0.6
    assert baseline["delta"]["micro_precision"] == round(0.4286 - 0.6, 4)
    assert baseline["texts_fixed"] == 0 and baseline["texts_broken"] == 2  # texts 3 and 5
    assert set(baseline["delta"]) == set(METRIC_KEYS)
    assert compare(report, report)["delta"]["micro_f1"] == 0.0


def test_report_page_is_self_contained(multilabel):
    model, examples = multilabel
    report, errors = build_report(model, examples)
    page = render_html(report, errors)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page)  # nothing fetched from a network
    assert "<script>" in page and "八: 日銀の総裁" in page
    for plot in ("per-tag-f1", "confusion-heat-map", "threshold-curve", "reliability-overall"):
        assert f'data-plot="{plot}"' in page


def test_report_page_escapes_corpus_text():
    model = StubModel({"<script>alert(1)</script>": {"#<i>": 0.9}}, ["#<i>"])
    examples = [Example("<script>alert(1)</script>", (), (), "x:1", "x")]
    report, errors = build_report(model, examples)
    page = render_html(report, errors)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "#<i>" not in page and "#&lt;i&gt;" in page


def test_report_opens_in_the_browser_with_plots_and_no_errors(multilabel, tmp_path, browser):
    from selenium.webdriver.common.by import By

    model, examples = multilabel
    report, errors = build_report(model, examples)
    paths = write_report(tmp_path, report, errors)
    browser.get(paths["report.html"].as_uri())
    assert browser.find_element(By.TAG_NAME, "h1").text == "Evaluation report"
    plots = {svg.get_attribute("data-plot") for svg in browser.find_elements(By.CSS_SELECTOR, "svg.plot")}
    assert {"per-tag-f1", "confusion-heat-map", "threshold-curve", "reliability-overall"} <= plots
    bars = browser.find_elements(By.CSS_SELECTOR, 'svg[data-plot="per-tag-f1"] rect.bar')
    assert len(bars) == 3 and all(bar.size["height"] > 0 for bar in bars)

    def tags_in_table():
        return [row.find_element(By.TAG_NAME, "td").text
                for row in browser.find_elements(By.CSS_SELECTOR, "#per-tag tbody tr")]

    assert tags_in_table() == ["#C", "#B", "#A"]  # worst F1 first
    browser.find_element(By.XPATH, "//table[@id='per-tag']//th[text()='F1']").click()
    assert tags_in_table() == ["#A", "#B", "#C"]
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []


# --------------------------------------------------------------------------------------------
# real models on tiny corpora

def test_single_label_folders_of_long_articles(tmp_path):
    sentences = {"economy": "日銀は金融政策を決めた。円相場が動いた。株価が上がった。",
                 "sport": "野球の試合で逆転勝ちした。投手が好投した。観客が沸いた。",
                 "weather": "明日は全国的に晴れる。気温が上がる見込み。台風が近づいている。"}
    root = tmp_path / "articles"
    for label, text in sentences.items():
        (root / label).mkdir(parents=True)
        for n in range(4):
            # Long articles: the label's sentences repeated, with a numbered line to tell them apart.
            (root / label / f"{label}_{n}.txt").write_text(f"第{n}報。\n" + text * 80, encoding="utf-8")
    examples = load_corpus([root])
    model = fit_examples(HashtagModel(min_count=2, cv=2), examples)
    report, errors = build_report(model, examples, data_paths=[root])
    assert report["corpus"]["kind"] == "single-label" and report["corpus"]["mean_chars"] > 2000
    assert report["top1_accuracy"] == 1.0 and report["n_labelled"] == 12
    assert report["abstention"]["correctly_empty"] is None
    assert report["applicable"]["abstention.correctly_empty"] is False
    notes = " ".join(report["notes"])
    assert "single-label corpus" in notes and "correctly_empty" in notes and "long texts" in notes


def test_a_model_that_knows_none_of_the_labels_says_so(bundled_model, tmp_path):
    root = tmp_path / "labels"
    for label in ("sport", "weather"):
        (root / label).mkdir(parents=True)
        (root / label / f"{label}.txt").write_text("野球の試合で逆転勝ちした。", encoding="utf-8")
    report, _ = build_report(bundled_model, load_corpus([root]))
    assert report["n_labelled"] == 0 and report["top1_accuracy"] is None
    assert "none of the corpus's labels is a tag of this model" in report["notes"][0]
    # The bundled model's post tags mean nothing on a corpus without post tags.
    assert all(s["scope"] == "block" for s in report["per_tag"].values())


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """Two models on the fixture corpus with the same 30% of posts held out; "fewer" drops
    #台湾情勢 (5 training texts, below its min_count of 6)."""
    root = tmp_path_factory.mktemp("tiny")
    quiet = lambda message: None  # noqa: E731
    good = root / "good"
    train([CORPUS], good, holdout=0.3, progress=quiet, min_count=3)
    fewer = root / "fewer"
    train([CORPUS], fewer, holdout=0.3, progress=quiet, min_count=6)
    return good, fewer


def test_train_writes_the_report_into_the_model_folder(tiny_models):
    good, _ = tiny_models
    report = json.loads((good / "report.json").read_text(encoding="utf-8"))
    assert report["n_examples"] == 15  # the held-out posts
    assert report["model"]["artifact_sha256"] == json.loads((good / "metadata.json").read_text())["artifact_sha256"]
    assert (good / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert all(json.loads(line)["text"] for line in (good / "errors.jsonl").read_text(encoding="utf-8").splitlines())


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


def test_evaluate_command_cross_validation(tmp_path, capsys):
    out = tmp_path / "cv"
    assert main(["evaluate", "--cv", "3", "--min-count", "3", "--data", str(CORPUS), "--report-dir", str(out)]) == 0
    printed = capsys.readouterr()
    assert "3-fold cross-validation by post: 36 texts, 10 posts" in printed.out
    assert re.search(r"^micro_f1 +[\d.]+ ± [\d.]+$", printed.out, re.M)
    assert "fold 3/3" in printed.err
    result = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert result["kind"] == "cross-validation" and len(result["per_fold"]) == 3
    assert sum(fold["n_test"] for fold in result["per_fold"]) == 36  # every text scored once
    assert set(result["scores"]) == set(METRIC_KEYS)
    assert 'data-plot="per-tag-f1"' in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("args, message", [
    (["--cv", "3", "--baseline", "x"], "cannot be combined with --cv"),
    (["--cv", "20"], "20-fold cross-validation needs at least 20 posts, got 10"),
    (["--model", "/nonexistent/model"], "python train.py"),
])
def test_evaluate_command_errors(args, message, capsys):
    assert main(["evaluate", "--data", str(CORPUS), "--min-count", "3", *args]) == 2
    assert message in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# promotion

def test_promote_only_what_is_not_worse(tiny_models, tmp_path, capsys):
    from classifier.service import create_app

    good, fewer = tiny_models
    pointer = tmp_path / "models" / "current"
    # Nothing in use yet: the first model is promoted.
    assert main(["promote", str(fewer), "--pointer", str(pointer)]) == 0
    assert current_target(pointer) == fewer.resolve()
    app = create_app({"MODEL_DIR": str(pointer), "ADMIN_TOKEN": "t", "FEEDBACK_PATH": str(tmp_path / "f.jsonl")})
    client = app.test_client()
    assert client.get("/model").get_json()["version"].endswith(load_model(fewer)[1]["artifact_sha256"][:12])

    # The better model replaces it, and the service's reload serves it.
    assert main(["promote", str(good), "--pointer", str(pointer)]) == 0
    printed = capsys.readouterr().out
    assert "promoted:" in printed and re.search(r"^macro_f1 .* \+[\d.]+$", printed, re.M)
    assert current_target(pointer) == good.resolve()
    assert client.post("/admin/reload", headers={"Authorization": "Bearer t"}).status_code == 200
    assert client.get("/model").get_json()["version"].endswith(load_model(good)[1]["artifact_sha256"][:12])

    # The worse one is refused, the comparison printed and recorded, and the pointer left alone.
    assert main(["promote", str(fewer), "--pointer", str(pointer)]) == 1
    printed = capsys.readouterr().out
    assert "not promoted: worse than good" in printed and "--force" in printed
    assert current_target(pointer) == good.resolve()
    record = json.loads((fewer / "promotion.json").read_text(encoding="utf-8"))
    assert record["promoted"] is False and record["delta"]["macro_f1"] < 0

    # A dry run compares and changes nothing; forced, the worse model goes in.
    assert main(["promote", str(fewer), "--pointer", str(pointer), "--dry-run"]) == 1
    assert current_target(pointer) == good.resolve()
    assert main(["promote", str(fewer), "--pointer", str(pointer), "--force"]) == 0
    assert "forced: worse than good" in capsys.readouterr().out
    assert current_target(pointer) == fewer.resolve()


def test_promote_refuses_to_replace_a_real_folder(tiny_models, tmp_path):
    good, _ = tiny_models
    (tmp_path / "current").mkdir()
    with pytest.raises(ValueError, match="is a folder, not a pointer"):
        promote(good, pointer=tmp_path / "current")


def test_pointer_swap_is_a_relative_link(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    pointer = tmp_path / "current"
    point_to(pointer, tmp_path / "a")
    point_to(pointer, tmp_path / "b")
    assert pointer.is_symlink() and str(pointer.readlink()) == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "current"]  # no temporary left
