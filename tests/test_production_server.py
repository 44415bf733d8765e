"""The real production server on loopback, and the web page in a real headless browser."""
import json
import urllib.error
import urllib.request

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait


def post(url, body, content_type="application/json"):
    request = urllib.request.Request(url, data=body if isinstance(body, bytes) else json.dumps(body).encode(),
                                     headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_production_server_answers_on_loopback(live_server):
    url = live_server["url"]
    status, body = post(f"{url}/suggest", {"texts": ["日銀は追加利上げを決めた。植田総裁が会見した。",
                                                      "ハマスが人質の一部を解放し、ガザへの支援物資の搬入が再開された。"]})
    assert status == 200
    assert [r["suggestions"][0]["tag"] for r in body["results"]] == ["#日銀", "#ガザ情勢"]
    status, body = post(f"{url}/suggest", b"{broken", "application/json")
    assert status == 400 and body["error"]["code"] == "invalid_json"
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
        assert response.headers["Server"].startswith("gunicorn")  # not Flask's development server


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
    assert any(tag.endswith("記事") for tag in tags)  # post tags are marked as such
    bar = rows[wanted].find_element(By.CSS_SELECTOR, ".bar span")
    assert 0 < bar.size["width"] <= bar.find_element(By.XPATH, "..").size["width"]
    assert rows[wanted].find_elements(By.CSS_SELECTOR, "[data-testid=terms] code")

    rows[wanted].find_element(By.CSS_SELECTOR, "[data-testid=accept]").click()
    wait.until(lambda driver: rows[wanted].find_element(By.CSS_SELECTOR, "[data-testid=accept]").get_attribute("data-sent"))
    records = [json.loads(line) for line in live_server["feedback"].read_text(encoding="utf-8").splitlines()]
    assert {"text": text, "tags": ["#ウクライナインフラ攻撃"]}.items() <= records[-1].items()
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []


def test_web_page_says_when_nothing_fits_and_shows_errors(live_server, browser):
    browser.get(live_server["url"] + "/")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=text]").send_keys("パスタを茹でてソースと和えます。")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=suggest]").click()
    wait = WebDriverWait(browser, 20)
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=no-suggestion]")))
    browser.find_element(By.CSS_SELECTOR, "[data-testid=text]").clear()
    browser.find_element(By.CSS_SELECTOR, "[data-testid=suggest]").click()
    assert "入力してください" in browser.find_element(By.CSS_SELECTOR, "[data-testid=status]").text
