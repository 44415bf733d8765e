"""scripts/loadtest.py: load on the production server, small enough for the suite: the
script's checks on 1,500 mixed requests (suggest, batch, feedback) at concurrency 16. The
10,000-request run is ``python scripts/loadtest.py`` (README, "Reliability"; figures in
RELIABILITY.md).
"""
import os

import pytest

from tests.support.scripts import load_script

loadtest = load_script("loadtest")

REQUESTS = int(os.environ.get("LOAD_REQUESTS", "1500"))


@pytest.mark.slow
def test_mixed_load_gives_no_5xx_and_stores_each_accepted_feedback_once(bundled_model_dir, tmp_path):
    feedback = tmp_path / "feedback.sqlite3"
    with loadtest.production_server(bundled_model_dir, feedback, workers=2, threads=4) as server:
        outcomes, seconds, plan = loadtest.run_load(server.url, REQUESTS, concurrency=16, seed=7, deadline=240)
    checked = loadtest.check_feedback(feedback, outcomes, plan)
    summary = loadtest.summarize(outcomes, seconds, REQUESTS, 16)
    print(summary, checked)
    assert loadtest.verdict(summary, checked) == []
    assert summary["server_errors_5xx"] == 0 and summary["connection_errors"] == 0
    assert checked["accepted"] > REQUESTS // 10 and checked["stored_lines_of_this_run"] == checked["accepted"]
    assert checked["lines_in_file"] == checked["accepted"] and checked["invalid_lines"] == 0
    assert {kind: sum(1 for o in outcomes if o.kind == kind) > 0 for kind in ("suggest", "batch", "feedback")} == {
        "suggest": True, "batch": True, "feedback": True}
