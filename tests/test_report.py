"""classifier.report: building the report (curves, heat map, corpus notes, the baseline
comparison) and writing its files; on a stub model and on real models of tiny corpora."""
import json

from classifier import HashtagModel, load_corpus
from classifier.evaluate import METRIC_KEYS
from classifier.model import fit_examples
from classifier.report import build_report, compare, write_report
from tests.support.evaluation import MULTILABEL, StubModel
from tests.support.paths import ROOT


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
