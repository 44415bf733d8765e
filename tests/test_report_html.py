"""classifier.report_html: the self-contained report page, escaped, and opened in a real
browser (plots drawn, tables sortable, no console errors)."""
import re

import pytest

from classifier.corpus import Example
from classifier.report import build_report, write_report
from classifier.report_html import render_html
from tests.support.evaluation import StubModel


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


@pytest.mark.browser
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
