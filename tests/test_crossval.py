"""classifier.crossval: cross-validation by post, through `classifier evaluate --cv`."""
import json
import re

from classifier.cli import main
from classifier.evaluate import METRIC_KEYS
from tests.support.evaluation import CORPUS


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
