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
    from classifier.model import load_model

    return load_model(bundled_model_dir)[0]
