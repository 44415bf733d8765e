"""classifier.service.page: the web page, served without external resources, and used in a
real headless browser against the production server: suggestions and feedback, the draft mode
(paste a post, see one tag line per block, edit one, copy the finished post), errors in Japanese."""
import json

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from classifier.service.feedback_store import FeedbackStore
from tests.support.drafts import NATO, SWAP


def test_page_is_served_without_external_resources(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<textarea" in html and "/suggest" in html
    assert "http://" not in html and "https://" not in html


@pytest.mark.browser
def test_web_page_suggests_and_sends_feedback(live_server, browser):
    browser.get(live_server["url"] + "/")
    text = "ロシア軍の無人機が東部の火力発電所を攻撃し、州内の広い範囲で停電が起きた。"
    browser.find_element(By.CSS_SELECTOR, "[data-testid=text]").send_keys(text)
    browser.find_element(By.CSS_SELECTOR, "[data-testid=suggest]").click()
    wait = WebDriverWait(browser, 20)
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=suggestion]")))
    rows = browser.find_elements(By.CSS_SELECTOR, "[data-testid=suggestion]")
    tags = [row.find_element(By.CSS_SELECTOR, "[data-testid=tag]").text for row in rows]
    wanted = next(i for i, tag in enumerate(tags) if tag.startswith("#ウクライナインフラ攻撃"))
    assert tags[0] == "#ウクライナインフラ攻撃"  # block tags first; post tags apart, below them
    assert browser.find_elements(By.CSS_SELECTOR, "[data-testid=post-tags] [data-testid=post-tag]")
    bar = rows[wanted].find_element(By.CSS_SELECTOR, ".bar span")
    assert 0 < bar.size["width"] <= bar.find_element(By.XPATH, "..").size["width"]
    assert rows[wanted].find_elements(By.CSS_SELECTOR, "[data-testid=terms] code")

    rows[wanted].find_element(By.CSS_SELECTOR, "[data-testid=accept]").click()
    wait.until(lambda driver: rows[wanted].find_element(By.CSS_SELECTOR, "[data-testid=accept]").get_attribute("data-sent"))
    record = FeedbackStore(live_server["feedback"]).list(status="pending", limit=1000)[-1]
    assert record["text"] == text and record["tags"] == ["#ウクライナインフラ攻撃"] and record["status"] == "pending"
    assert record["shown"] and record["shown"][0]["tag"] == tags[0]
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []


@pytest.mark.browser
def test_web_page_says_when_nothing_fits_and_shows_errors(live_server, browser):
    browser.get(live_server["url"] + "/")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=text]").send_keys("パスタを茹でてソースと和えます。")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=suggest]").click()
    wait = WebDriverWait(browser, 20)
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=no-suggestion]")))
    browser.find_element(By.CSS_SELECTOR, "[data-testid=text]").clear()
    browser.find_element(By.CSS_SELECTOR, "[data-testid=suggest]").click()
    assert "入力してください" in browser.find_element(By.CSS_SELECTOR, "[data-testid=status]").text


# --------------------------------------------------------------------------------------------
# the draft mode


EDITED = "#捕虜交換(コワレンコ氏「捕虜の最後の一人が家に帰るまで」・編集済み)"


def _find(browser, testid):
    return browser.find_element(By.CSS_SELECTOR, f"[data-testid={testid}]")


def _paste(browser, testid, text):
    browser.execute_script("const area = arguments[0]; area.value = arguments[1];"
                           "area.dispatchEvent(new Event('input'));", _find(browser, testid), text)


@pytest.mark.browser
def test_draft_mode_drafts_edits_and_copies_a_post(live_server, browser):
    browser.get(live_server["url"] + "/")
    assert not _find(browser, "draft-text").is_displayed()
    _find(browser, "tab-draft").click()
    assert _find(browser, "draft-text").is_displayed() and not _find(browser, "text").is_displayed()
    _paste(browser, "draft-text", f"{SWAP}\n\n{NATO}\n")
    _find(browser, "annotate").click()
    wait = WebDriverWait(browser, 20)
    wait.until(lambda driver: len(driver.find_elements(By.CSS_SELECTOR, "[data-testid=block]")) == 2)

    lines = browser.find_elements(By.CSS_SELECTOR, "[data-testid=block-line]")
    values = [line.get_attribute("value") for line in lines]
    assert values[0].startswith("#捕虜交換(") and values[1].startswith("#NATO(")
    assert all(box.find_elements(By.CSS_SELECTOR, "[data-testid=alternative]")
               for box in browser.find_elements(By.CSS_SELECTOR, "[data-testid=block]"))
    assert "ブロック" in _find(browser, "draft-status").text

    lines[0].send_keys(Keys.CONTROL, "a")
    lines[0].send_keys(Keys.DELETE)
    lines[0].send_keys(EDITED)
    # Headless chromium may refuse the clipboard: a stub records what the page copies.
    browser.execute_script("Object.defineProperty(navigator, 'clipboard', {configurable: true, value: "
                           "{writeText: async (text) => { window.copied = text; }}});")
    _find(browser, "copy").click()
    wait.until(lambda driver: driver.execute_script("return window.copied"))
    copied = browser.execute_script("return window.copied")
    assert copied == _find(browser, "finished").get_attribute("value")
    # The draft had blank lines: the finished post keeps one between every two lines.
    assert "\n\n" in copied
    assert [line for line in copied.split("\n") if line] == [*SWAP.split("\n"), EDITED, *NATO.split("\n"), values[1],
                                  _find(browser, "post-tag-line").get_attribute("value")]
    assert "コピーしました" in _find(browser, "draft-status").text
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []


@pytest.mark.browser
def test_the_page_says_errors_in_japanese(live_server, browser):
    browser.get(live_server["url"] + "/")
    _find(browser, "text").send_keys("ロシア軍が東部の発電所を攻撃した。")
    k = browser.find_element(By.ID, "k")
    k.clear()
    k.send_keys("99")
    _find(browser, "suggest").click()
    wait = WebDriverWait(browser, 20)
    wait.until(lambda driver: "error" in _find(driver, "status").get_attribute("class"))
    assert _find(browser, "status").text == "件数は1から50までの整数で指定してください"

    _find(browser, "tab-draft").click()
    _paste(browser, "draft-text", "#NATO(要約)\n北大西洋条約機構は防空ミサイルを調達する。")
    _find(browser, "annotate").click()
    wait.until(lambda driver: "error" in _find(driver, "draft-status").get_attribute("class"))
    message = _find(browser, "draft-status").text
    assert message.startswith("下書きを読み取れません") and not any("a" <= c.lower() <= "z" for c in message)
