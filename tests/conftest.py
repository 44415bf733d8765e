"""Fixtures shared by the test files. Helpers (paths, texts, corpora, servers, the browser)
live in tests/support/."""
import os

import pytest

from tests.support.paths import ROOT

# The service and `feedback` import the old JSON Lines feedback file (training_data/feedback.jsonl)
# once and rename it aside: never the working tree's own file from a test. Tests of the import
# name their file.
os.environ["HASHTAG_FEEDBACK_IMPORT"] = str(ROOT / "tests" / "no-such-dir" / "feedback.jsonl")


@pytest.fixture(scope="session")
def bundled_model_dir(tmp_path_factory):
    """A model trained the default way on the bundled corpus, once per test session."""
    from classifier import train

    out = tmp_path_factory.mktemp("models") / "bundled"
    train([ROOT / "training_data"], out, progress=lambda message: None)
    return out


@pytest.fixture(scope="session")
def bundled_model(bundled_model_dir):
    from classifier import load_model

    return load_model(bundled_model_dir)[0]


@pytest.fixture(scope="session")
def live_server(bundled_model_dir, tmp_path_factory):
    """The real production server (gunicorn) on loopback, in a subprocess, ready to answer."""
    from tests.support.server import production_server

    feedback = tmp_path_factory.mktemp("feedback") / "feedback.sqlite3"
    with production_server(bundled_model_dir, feedback, workers=2, threads=2, ready_timeout=60) as server:
        yield {"url": server.url, "feedback": feedback, "process": server.process}


@pytest.fixture
def browser(tmp_path):
    """Headless chromium (skipped when missing, failed under CI=true)."""
    from tests.support.browser import start_chromium

    driver = start_chromium(tmp_path / "chromium-profile")
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def tiny_model():
    """A model fitted on tests.support.corpora.tiny_examples() (min_count 3, 3-fold calibration)."""
    from classifier import HashtagModel
    from classifier.model import fit_examples
    from tests.support.corpora import tiny_examples

    return fit_examples(HashtagModel(min_count=3, cv=3), tiny_examples())


@pytest.fixture(scope="module")
def multilabel():
    """The stub model and the eight texts of tests.support.evaluation.multilabel_case()."""
    from tests.support.evaluation import multilabel_case

    return multilabel_case()


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """Two models on the fixture corpus, scored on the same 30% of posts held out; "fewer" drops
    #台湾情勢 (8 texts, below its min_count of 9)."""
    from classifier import train
    from tests.support.evaluation import CORPUS

    root = tmp_path_factory.mktemp("tiny")
    quiet = lambda message: None  # noqa: E731
    good = root / "good"
    train([CORPUS], good, holdout=0.3, progress=quiet, min_count=3)
    fewer = root / "fewer"
    train([CORPUS], fewer, holdout=0.3, progress=quiet, min_count=9)
    return good, fewer
