"""classifier.promote: promotion only of what is not worse, the pointer swap, and recovering
a broken promoted model as the README says."""
import json
import re
import shutil

import pytest

from classifier import create_app, load_model
from classifier.cli import main
from classifier.promote import current_target, point_to, promote
from tests.support.service import TOKEN, break_model


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


def test_recovering_a_broken_promoted_model_as_the_readme_says(bundled_model_dir, tmp_path):
    """README, "Recovering from a broken model", once a model has been promoted: the service
    serves the pointer; a new folder promoted over a broken model in use, then /admin/reload."""
    from classifier.cli import main

    models = tmp_path / "models"
    shutil.copytree(bundled_model_dir, models / "v1")
    (models / "current").symlink_to("v1")
    break_model(models / "v1", "artifact truncated", tmp_path)
    client = create_app({"MODEL_DIR": str(models / "current"), "ADMIN_TOKEN": TOKEN,
                         "FEEDBACK_PATH": str(tmp_path / "f.jsonl")}).test_client()
    assert client.get("/readyz").status_code == 503
    assert client.post("/suggest", json={"text": "日銀"}).status_code == 503
    shutil.copytree(bundled_model_dir, models / "v2")  # stands for `python train.py --out models/v2`
    assert main(["promote", str(models / "v2"), "--pointer", str(models / "current")]) == 0
    assert client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.post("/suggest", json={"text": "日銀は追加利上げを決めた。"}).status_code == 200
