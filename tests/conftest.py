from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def bundled_model_dir(tmp_path_factory):
    """A model trained the default way on the bundled corpus, once per test session."""
    from classifier.training import train

    out = tmp_path_factory.mktemp("models") / "bundled"
    train([ROOT / "training_data"], out, progress=lambda message: None)
    return out


@pytest.fixture(scope="session")
def bundled_model(bundled_model_dir):
    from classifier.persist import load_model

    return load_model(bundled_model_dir)[0]


@pytest.fixture(scope="session")
def live_server(bundled_model_dir, tmp_path_factory):
    """The real production server (gunicorn) on loopback, in a subprocess, ready to answer."""
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    import loadtest

    feedback = tmp_path_factory.mktemp("feedback") / "feedback.jsonl"
    with loadtest.production_server(bundled_model_dir, feedback, workers=2, threads=2, ready_timeout=60) as server:
        yield {"url": server.url, "feedback": feedback, "process": server.process}


def chromium_or_skip():
    """Paths of Debian's chromium and chromedriver. In CI their absence is a failure: .ci/run
    installs them, so a missing browser there means the set-up broke."""
    import os
    import shutil

    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if browser and driver:
        return browser, driver
    message = "chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium_or_skip()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
