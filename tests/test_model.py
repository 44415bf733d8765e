import json
import os

import numpy as np
import pytest

from classifier.corpus import Example
from classifier.model import HashtagModel, count_features, fit_examples, tfidf_weights
from classifier.persist import ModelLoadError, load_model, save_model
from tests.support.texts import EDGE_TEXTS, corpus_paragraphs

# A tiny named corpus: two topics, a rare tag, and texts that belong to neither.
BOJ = ["日銀は金融政策決定会合で利上げを決めた", "植田総裁は円安と物価について会見で語った", "日銀が国債の買い入れを減らす方針を示した",
       "日銀の追加利上げ観測で長期金利が上昇した", "日銀は短期金利の誘導目標を据え置いた", "日銀総裁が賃金と物価の好循環に言及した"]
NATO = ["NATOは首脳会議で防衛費の目標を確認した", "NATO加盟国が防空ミサイルの共同調達で合意した", "NATO事務総長がウクライナ支援の継続を訴えた",
        "スウェーデンがNATOに正式に加盟した", "NATOは東欧での部隊配備を拡大する", "NATO国防相会合で弾薬の増産を協議した"]
OTHER = ["大谷選手が本塁打を放った", "関東は週末にかけて大雨の見込み", "新作映画の興行収入が記録を更新した",
         "人気アイドルがコンサートを開いた", "桜の開花が各地で発表された", "将棋の名人戦で挑戦者が勝った"]


def tiny_examples():
    examples = []
    for i, text in enumerate(BOJ):
        examples.append(Example(text, ("#日銀",), (), f"boj:{i}", f"post{i % 6}"))
    for i, text in enumerate(NATO):
        examples.append(Example(text, ("#NATO",), ("#反ロシア",), f"nato:{i}", f"post{i % 6 + 6}"))
    for i, text in enumerate(OTHER):
        examples.append(Example(text, ("#その他",) if i == 0 else (), (), f"other:{i}", f"post{i % 6 + 12}"))
    return examples


@pytest.fixture(scope="module")
def tiny_model():
    return fit_examples(HashtagModel(min_count=3, cv=3), tiny_examples())


def test_fit_learns_frequent_tags_only_and_keeps_rare_texts_as_negatives(tiny_model):
    assert list(tiny_model.classes_) == ["#NATO", "#反ロシア", "#日銀"]
    assert tiny_model.tag_counts_["#その他"] == 1
    assert tiny_model.scopes_ == {"#NATO": "block", "#日銀": "block", "#反ロシア": "post"}
    # the post tag is derived from the block tags, so only block tags have weights
    assert tiny_model.coef_.shape == (2, tiny_model.n_features_)
    assert tiny_model.post_given_block_.tolist() == [[1.0], [0.0]]
    assert tiny_model.thresholds_.shape == (3,)


def test_suggest_ranks_the_right_tag_first(tiny_model):
    results = tiny_model.suggest(["日銀が金利を引き上げた", "NATOが防衛費を増やす"], threshold=0)
    assert results[0][0]["tag"] == "#日銀"
    assert results[1][0]["tag"] in ("#NATO", "#反ロシア")
    assert {item["scope"] for item in results[1]} == {"block", "post"}


def test_threshold_zero_ranks_every_tag_and_k_caps(tiny_model):
    ranked = tiny_model.suggest(["NATOが会合"], threshold=0, k=10)[0]
    assert len(ranked) == 3
    assert [item["score"] for item in ranked] == sorted((item["score"] for item in ranked), reverse=True)
    assert len(tiny_model.suggest(["NATOが会合"], threshold=0, k=1)[0]) == 1
    assert tiny_model.suggest(["NATOが会合"], threshold=1.0)[0] == []


@pytest.mark.parametrize("options, message", [({"k": 0}, "k must be at least 1"),
                                              ({"threshold": 1.5}, "threshold must be between 0 and 1")])
def test_suggest_rejects_bad_options(tiny_model, options, message):
    with pytest.raises(ValueError, match=message):
        tiny_model.suggest(["日銀"], **options)


def test_explain_names_the_words_behind_a_tag(tiny_model):
    result = tiny_model.suggest(["日銀の植田総裁が利上げを語った"], threshold=0, k=1, explain=True)[0][0]
    assert result["tag"] == "#日銀"
    terms = [term["term"] for term in result["terms"]]
    assert "日銀" in terms
    assert all(term["weight"] > 0 for term in result["terms"])
    with pytest.raises(ValueError, match="unknown tag"):
        tiny_model.explain("日銀", "#存在しない")


def test_fit_rejects_mismatched_or_empty_input():
    with pytest.raises(ValueError, match="got 2 texts but 1 label sets"):
        HashtagModel().fit(["a", "b"], [["#x"]])
    with pytest.raises(ValueError, match="no tag has at least min_count"):
        HashtagModel(min_count=5).fit(["a", "b"], [["#x"], ["#y"]])


def test_same_data_and_seed_give_the_same_model():
    first = fit_examples(HashtagModel(min_count=3, cv=3, random_state=7), tiny_examples())
    second = fit_examples(HashtagModel(min_count=3, cv=3, random_state=7), tiny_examples())
    texts = BOJ + NATO + OTHER
    assert np.array_equal(first.predict_proba(texts), second.predict_proba(texts))
    assert np.array_equal(first.thresholds_, second.thresholds_)


def test_save_and_load_round_trip(tiny_model, tmp_path):
    save_model(tiny_model, tmp_path, {"note": "test"})
    loaded, metadata = load_model(tmp_path)
    assert loaded.get_params() == tiny_model.get_params()
    texts = ["日銀が利上げ", "NATOが会合", "大雨"]
    assert np.array_equal(loaded.predict_proba(texts), tiny_model.predict_proba(texts))
    assert metadata["note"] == "test" and len(metadata["artifact_sha256"]) == 64
    assert "scikit-learn" in metadata["versions"]


def test_load_refuses_truncated_artifact(tiny_model, tmp_path):
    save_model(tiny_model, tmp_path, {})
    artifact = next(tmp_path.glob("model-*.joblib"))
    artifact.write_bytes(artifact.read_bytes()[:100])
    with pytest.raises(ModelLoadError, match="does not match the hash"):
        load_model(tmp_path)


def test_load_refuses_other_library_versions(tiny_model, tmp_path):
    save_model(tiny_model, tmp_path, {})
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    metadata["versions"]["scikit-learn"] = "0.1"
    (tmp_path / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelLoadError, match="scikit-learn 0.1"):
        load_model(tmp_path)


def test_load_of_missing_model_says_how_to_recover(tmp_path):
    with pytest.raises(ModelLoadError, match="python train.py"):
        load_model(tmp_path / "nothing")


def test_crash_while_saving_leaves_previous_model_loadable(tiny_model, tmp_path, monkeypatch):
    save_model(tiny_model, tmp_path, {"generation": 1})

    def crash(source, destination):
        raise KeyboardInterrupt("killed while saving, the new artifact written but not in place")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        save_model(tiny_model, tmp_path, {"generation": 2})
    model, metadata = load_model(tmp_path)
    assert metadata["generation"] == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert len(list(tmp_path.glob("model-*.joblib"))) == 1


def test_tokenizer_is_the_same_in_training_and_serving(tiny_model, tmp_path):
    save_model(tiny_model, tmp_path, {})
    loaded, _ = load_model(tmp_path)
    text = "ＮＡＴＯ加盟国が弾薬を増産 https://t.co/x1 #nhk_news"
    assert loaded.features_["counts"].build_analyzer()(text) == tiny_model.build_tokenizer()(text)
    assert os.path.exists(tmp_path / "metadata.json")


UNRELATED = [
    "鍋に水を入れて沸騰させ、パスタを8分ゆでます。",
    "新しいスマートフォンのカメラは夜景の撮影に強いという。",
    "週末は家族で動物園に出かけ、パンダの赤ちゃんを見た。",
]


@pytest.mark.parametrize("text", UNRELATED)
def test_bundled_model_abstains_on_unrelated_text(bundled_model, text):
    assert bundled_model.suggest([text])[0] == []


@pytest.mark.parametrize("text, tag", [
    ("ロシア軍のミサイルが首都キーウの集合住宅に着弾し、市民5人が死亡した。", "#ウクライナミサイル攻撃"),
    ("日銀の植田総裁は会見で、追加利上げの時期について物価と賃金の動向を見極めると述べた。", "#日銀"),
    ("中国軍が台湾周辺で大規模な軍事演習を始め、台湾国防部は警戒を強めている。", "#台湾情勢"),
])
def test_bundled_model_suggests_the_obvious_tag(bundled_model, text, tag):
    ranked = bundled_model.suggest([text], threshold=0, k=50)[0]
    assert [item["tag"] for item in ranked if item["scope"] == "block"][0] == tag
    assert tag in [item["tag"] for item in bundled_model.suggest([text])[0]]  # with the learned thresholds


def test_post_tags_come_only_with_a_block_tag(bundled_model):
    on_topic = bundled_model.suggest(["ロシア軍が東部の要衝を制圧したと発表し、ウクライナ軍は部隊を後退させた。"])[0]
    assert {"block", "post"} <= {item["scope"] for item in on_topic}
    off_topic = bundled_model.suggest(["鍋に水を入れて沸騰させ、パスタを8分ゆでます。"], threshold=0, k=50)[0]
    assert all(item["score"] == 0 for item in off_topic if item["scope"] == "post")


@pytest.mark.parametrize("change, message", [
    ({"artifact": "../elsewhere/model-0123456789abcdef.joblib"}, "not a model file of this folder"),
    ({"artifact": "/etc/passwd"}, "not a model file of this folder"),
    ({"model_format": 1}, "has format 1"),
])
def test_load_refuses_foreign_artifacts_and_old_formats(tiny_model, tmp_path, change, message):
    save_model(tiny_model, tmp_path, {})
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    metadata.update(change)
    (tmp_path / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(ModelLoadError, match=message):
        load_model(tmp_path)


def test_save_cleans_up_after_a_killed_save_and_is_readable_by_others(tiny_model, tmp_path):
    (tmp_path / ".artifact-left.tmp").write_bytes(b"from a killed save")
    save_model(tiny_model, tmp_path, {})
    assert not list(tmp_path.glob(".*.tmp"))
    assert all(p.stat().st_mode & 0o044 == 0o044 for p in tmp_path.iterdir())


# --------------------------------------------------------------------------------------------
# the batch transform gives exactly the pipeline's own transform

@pytest.mark.parametrize("settings", [
    {"ngram_range": (1, 1)}, {"ngram_range": (1, 2)}, {"ngram_range": (1, 3), "min_df": 2},
    {"ngram_range": (2, 3)}, {"ngram_range": (1, 2), "max_df": 0.3, "max_features": 500},
    {"ngram_range": (1, 2), "sublinear_tf": False}, {"ngram_range": (1, 1), "pos": "content", "form": "lemma"},
])
def test_count_features_and_tfidf_weights_equal_the_pipeline(settings):
    paragraphs = corpus_paragraphs()
    features = HashtagModel(**settings).build_features().fit(paragraphs[:300])
    counter = features["counts"]
    for texts in (paragraphs[300:], paragraphs[:1], EDGE_TEXTS, ["", ""]):
        expected = features.transform(texts)
        counts = count_features(counter.vocabulary_, counter.analyzer.feature_lists(texts), counter.dtype)
        got = tfidf_weights(counts, features["tfidf"])
        assert got.shape == expected.shape and got.dtype == expected.dtype
        assert np.array_equal(got.indptr, expected.indptr) and np.array_equal(got.indices, expected.indices)
        assert np.array_equal(got.data, expected.data)  # bit for bit


def test_model_transform_equals_the_pipeline_and_survives_pickling(bundled_model):
    import pickle

    paragraphs = corpus_paragraphs()
    expected = bundled_model.features_.transform(paragraphs)
    for model in (bundled_model, pickle.loads(pickle.dumps(bundled_model))):
        got = model.transform(paragraphs)
        assert type(got) is type(expected) and (got != expected).nnz == 0
        assert np.array_equal(got.data, expected.data)
