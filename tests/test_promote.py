"""classifier.promote: promotion only of what is not worse, the pointer swap, and recovering
a broken promoted model as the README says."""
import json
import re
import shutil
import subprocess

import pytest

from classifier import create_app, load_corpus, load_model
from classifier.cli import main
from classifier.promote import current_target, point_to, promote
from tests.support.paths import ROOT
from tests.support.service import TOKEN, break_model


@pytest.fixture(scope="module")
def weak_model(tmp_path_factory):
    """The configuration of tiny_models' "good" crippled (5 features): the same tags, worse scores."""
    from classifier import train
    from tests.support.evaluation import CORPUS

    out = tmp_path_factory.mktemp("weak") / "weak"
    train([CORPUS], out, holdout=0.3, progress=lambda message: None, min_count=3, max_features=5)
    return out


@pytest.fixture(scope="module")
def other_corpus_model(tmp_path_factory):
    """Issue 14: 30 texts of another corpus, 3 labels of its own, --min-count 3."""
    from classifier import train

    folder = tmp_path_factory.mktemp("small")
    lines = [json.dumps({"text": f"{topic}の話題その{i}。{word}について伝えた。", "tags": [tag]}, ensure_ascii=False)
             for tag, topic, word in (("#地震", "地震", "津波"), ("#選挙", "選挙", "投票"), ("#野球", "野球", "試合"))
             for i in range(10)]
    (folder / "small.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    train([folder / "small.jsonl"], folder / "M", progress=lambda message: None, min_count=3)
    return folder / "M"


def test_promote_only_what_is_not_worse(tiny_models, weak_model, tmp_path, capsys):
    from classifier.service import create_app

    good, _ = tiny_models
    pointer = tmp_path / "models" / "current"
    # Nothing in use yet (no pointer, no default folder): the first model is promoted.
    assert main(["promote", str(weak_model), "--pointer", str(pointer)]) == 0
    assert current_target(pointer) == weak_model.resolve()
    app = create_app({"MODEL_DIR": str(pointer), "ADMIN_TOKEN": "t", "FEEDBACK_PATH": str(tmp_path / "f.sqlite3")})
    client = app.test_client()
    assert client.get("/model").get_json()["version"].endswith(load_model(weak_model)[1]["artifact_sha256"][:12])

    # The better model replaces it, and the service's reload serves it.
    assert main(["promote", str(good), "--pointer", str(pointer)]) == 0
    printed = capsys.readouterr().out
    assert "promoted:" in printed and re.search(r"^macro_f1 .* \+[\d.]+$", printed, re.M)
    assert "POST /admin/reload" in printed  # no service configured: it says what to do
    assert current_target(pointer) == good.resolve()
    assert client.post("/admin/reload", headers={"Authorization": "Bearer t"}).status_code == 200
    assert client.get("/model").get_json()["version"].endswith(load_model(good)[1]["artifact_sha256"][:12])

    # The worse one is refused, the comparison printed and recorded, and the pointer left alone.
    assert main(["promote", str(weak_model), "--pointer", str(pointer)]) == 1
    printed = capsys.readouterr().out
    assert "not promoted: worse than good" in printed and "--force" in printed
    assert current_target(pointer) == good.resolve()
    record = json.loads((weak_model / "promotion.json").read_text(encoding="utf-8"))
    assert record["promoted"] is False and record["delta"]["macro_f1"] < 0

    # A dry run compares and changes nothing; forced, the worse model goes in.
    assert main(["promote", str(weak_model), "--pointer", str(pointer), "--dry-run"]) == 1
    assert current_target(pointer) == good.resolve()
    assert main(["promote", str(weak_model), "--pointer", str(pointer), "--force"]) == 0
    assert "forced: worse than good" in capsys.readouterr().out
    assert current_target(pointer) == weak_model.resolve()


def test_a_change_of_the_tag_set_is_shown_and_refused_without_force(tiny_models, other_corpus_model, tmp_path,
                                                                     capsys):
    """Issue 14, problem 1: a 3-tag model of another corpus replaced the news model, and the
    news model went straight back in. Both directions are now refused, the tags lost and gained
    shown; --force still promotes."""
    good, fewer = tiny_models
    pointer = tmp_path / "models" / "current"
    point_to(pointer, good)
    assert main(["promote", str(other_corpus_model), "--pointer", str(pointer)]) == 1
    printed = capsys.readouterr().out
    assert "not promoted: the tag set changes" in printed and "--force" in printed
    assert re.search(r"^tags lost \(\d+\): .*#台湾情勢", printed, re.M)
    assert re.search(r"^tags gained \(3\): #地震 #選挙 #野球$", printed, re.M)
    assert current_target(pointer) == good.resolve()
    # A tag dropped (below min_count) is a change of the tag set too, whatever the scores.
    assert main(["promote", str(fewer), "--pointer", str(pointer)]) == 1
    assert re.search(r"^tags lost \(1\): #台湾情勢$", capsys.readouterr().out, re.M)
    # Forced, it goes in; and the old model straight back is refused the same way.
    assert main(["promote", str(other_corpus_model), "--pointer", str(pointer), "--force"]) == 0
    assert "forced: the tag set changes" in capsys.readouterr().out
    assert main(["promote", str(good), "--pointer", str(pointer)]) == 1
    assert "not promoted: the tag set changes" in capsys.readouterr().out
    assert current_target(pointer) == other_corpus_model.resolve()
    record = json.loads((good / "promotion.json").read_text(encoding="utf-8"))
    assert record["tag_changes"]["lost"] == ["#地震", "#選挙", "#野球"]


def test_the_comparison_scores_both_models_on_texts_neither_was_trained_on(tiny_models, weak_model, tmp_path):
    """The served models are fitted on every post: promote refits both configurations without the
    new model's held-out posts and scores both on exactly those."""
    from classifier.overlap import read_digests, text_digest
    from classifier.training import split_holdout
    from tests.support.evaluation import CORPUS

    good, _ = tiny_models
    pointer = tmp_path / "current"
    point_to(pointer, weak_model)
    decision = promote(good, pointer=pointer, dry_run=True)
    _, held = split_holdout(load_corpus([CORPUS]), 0.3)
    assert decision["report"]["n_examples"] == len(held)
    assert decision["report"]["baseline"]["model"]["dir"] == str(weak_model.resolve())
    assert "both configurations refitted on the other posts" in decision["report"]["promotion"]["compared_on"]
    for folder in (good, weak_model):  # both served models have seen them: hence the refit
        assert all(text_digest(e.text) in read_digests(folder, load_model(folder)[1]) for e in held)


def test_first_promotion_compares_with_the_default_model_that_is_served(tiny_models, weak_model, tmp_path, capsys):
    """Issue 14, problem 2: "(was nothing); no model in use yet" while models/default was served.
    Without a pointer the model in use is the default folder beside it."""
    good, _ = tiny_models
    models = tmp_path / "models"
    shutil.copytree(good, models / "default")
    pointer = models / "current"
    assert main(["promote", str(weak_model), "--pointer", str(pointer)]) == 1
    printed = capsys.readouterr().out
    assert "not promoted: worse than default" in printed and "no model in use yet" not in printed
    assert not pointer.exists()
    shutil.copytree(good, models / "v2")
    assert main(["promote", str(models / "v2"), "--pointer", str(pointer)]) == 0
    printed = capsys.readouterr().out
    assert f"(was {(models / 'default').resolve()})" in printed and "nothing" not in printed
    assert current_target(pointer) == (models / "v2").resolve()  # the first promotion made the pointer


def test_promotion_files_are_ignored_by_git():
    """Issue 14, problem 4: models/.current.lock showed in `git status` after a promote."""
    for path in ("models/.current.lock", "models/.current-0123456789ab.tmp", "models/current",
                 "var/feedback.sqlite3", "var/feedback.sqlite3-wal", "training_data/feedback.jsonl.imported"):
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT)
        assert result.returncode == 0, f"{path} is not ignored by git"


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
                         "FEEDBACK_PATH": str(tmp_path / "f.sqlite3")}).test_client()
    assert client.get("/readyz").status_code == 503
    assert client.post("/suggest", json={"text": "日銀"}).status_code == 503
    shutil.copytree(bundled_model_dir, models / "v2")  # stands for `python train.py --out models/v2`
    assert main(["promote", str(models / "v2"), "--pointer", str(models / "current")]) == 0
    assert client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.post("/suggest", json={"text": "日銀は追加利上げを決めた。"}).status_code == 200
