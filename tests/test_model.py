"""classifier.model: fitting, suggesting, explaining, the bundled model's answers."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from classifier import HashtagModel
from classifier.model import fit_examples
from classifier.scorer import _keep_top_k, ranked_kept
from tests.support.corpora import BOJ, NATO, OTHER, tiny_examples
from tests.support.fuzz import FUZZ


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
    assert results[0]["tags"][0]["tag"] == "#日銀"
    assert results[1]["tags"][0]["tag"] == "#NATO"
    assert [item["tag"] for item in results[1]["post_tags"]] == ["#反ロシア"]  # apart from the block tags


def test_threshold_zero_ranks_every_tag_and_k_caps(tiny_model):
    answer = tiny_model.suggest(["NATOが会合"], threshold=0, k=10)[0]
    assert len(answer["tags"]) == 2 and len(answer["post_tags"]) == 1
    ranked = answer["tags"]
    assert [item["score"] for item in ranked] == sorted((item["score"] for item in ranked), reverse=True)
    assert len(tiny_model.suggest(["NATOが会合"], threshold=0, k=1)[0]["tags"]) == 1
    assert tiny_model.suggest(["NATOが会合"], threshold=1.0)[0] == {"tags": [], "post_tags": []}


@pytest.mark.parametrize("options, message", [({"k": 0}, "k must be at least 1"),
                                              ({"threshold": 1.5}, "threshold must be between 0 and 1")])
def test_suggest_rejects_bad_options(tiny_model, options, message):
    with pytest.raises(ValueError, match=message):
        tiny_model.suggest(["日銀"], **options)


def test_explain_names_the_words_behind_a_tag(tiny_model):
    result = tiny_model.suggest(["日銀の植田総裁が利上げを語った"], threshold=0, k=1, explain=True)[0]["tags"][0]
    assert result["tag"] == "#日銀"
    terms = [term["term"] for term in result["terms"]]
    assert "日銀" in terms
    assert all(term["weight"] > 0 for term in result["terms"])
    with pytest.raises(ValueError, match="unknown tag"):
        tiny_model.explain("日銀", "#存在しない")


def test_fit_rejects_mismatched_or_empty_input():
    with pytest.raises(ValueError, match="got 2 texts but 1 label sets"):
        HashtagModel().fit(["a", "b"], [["#x"]])
    with pytest.raises(ValueError, match=r"no tag has at least 5 examples.*--min-count.*#x \(1\)"):
        HashtagModel(min_count=5).fit(["a", "b"], [["#x"], ["#y"]])


def test_same_data_and_seed_give_the_same_model():
    first = fit_examples(HashtagModel(min_count=3, cv=3, random_state=7), tiny_examples())
    second = fit_examples(HashtagModel(min_count=3, cv=3, random_state=7), tiny_examples())
    texts = BOJ + NATO + OTHER
    assert np.array_equal(first.predict_proba(texts), second.predict_proba(texts))
    assert np.array_equal(first.thresholds_, second.thresholds_)


def test_fits_in_worker_processes_give_the_model_one_process_gives(monkeypatch):
    # A large corpus fits its tags in a process per core; the weights must not depend on where.
    from classifier import model as model_module

    one = fit_examples(HashtagModel(min_count=3, cv=3), tiny_examples())
    monkeypatch.setattr(model_module, "PARALLEL_FIT_MIN_ROWS", 1)
    spread = fit_examples(HashtagModel(min_count=3, cv=3), tiny_examples())
    assert np.array_equal(one.coef_, spread.coef_) and np.array_equal(one.intercept_, spread.intercept_)
    assert np.array_equal(one.topic_coef_, spread.topic_coef_) and np.array_equal(one.thresholds_, spread.thresholds_)


UNRELATED = [
    "鍋に水を入れて沸騰させ、パスタを8分ゆでます。",
    "新しいスマートフォンのカメラは夜景の撮影に強いという。",
    "週末は家族で動物園に出かけ、パンダの赤ちゃんを見た。",
]


@pytest.mark.parametrize("text", UNRELATED)
def test_bundled_model_abstains_on_unrelated_text(bundled_model, text):
    assert bundled_model.suggest([text])[0] == {"tags": [], "post_tags": []}


@pytest.mark.parametrize("text, tag", [
    ("ロシア軍のミサイルが首都キーウの集合住宅に着弾し、市民5人が死亡した。", "#ウクライナミサイル攻撃"),
    ("日銀の植田総裁は会見で、追加利上げの時期について物価と賃金の動向を見極めると述べた。", "#日銀"),
    ("中国軍が台湾周辺で大規模な軍事演習を始め、台湾国防部は警戒を強めている。", "#台湾情勢"),
])
def test_bundled_model_suggests_the_obvious_tag(bundled_model, text, tag):
    ranked = bundled_model.suggest([text], threshold=0, k=50)[0]
    assert ranked["tags"][0]["tag"] == tag
    assert bundled_model.suggest([text])[0]["tags"][0]["tag"] == tag  # at the model's own operating point


def test_post_tags_come_only_with_a_block_tag(bundled_model):
    on_topic = bundled_model.suggest(["ロシア軍が東部の要衝を制圧したと発表し、ウクライナ軍は部隊を後退させた。"])[0]
    assert on_topic["tags"] and on_topic["post_tags"]
    off_topic = bundled_model.suggest(["鍋に水を入れて沸騰させ、パスタを8分ゆでます。"], threshold=0, k=50)[0]
    assert off_topic["post_tags"] and all(item["score"] == 0 for item in off_topic["post_tags"])


@given(st.integers(1, 40), st.integers(0, 2**32 - 1))
@FUZZ
def test_ranked_kept_orders_each_rows_kept_tags_as_a_stable_sort_of_its_scores(n_rows, seed):
    rng = np.random.default_rng(seed)
    probabilities = rng.choice([0.0, 0.25, 0.5, 0.50004, 0.9, 1.0], size=(n_rows, 9))  # many ties
    kept = rng.random((n_rows, 9)) < 0.5
    columns = np.array([7, 1, 4, 0, 8])  # a subset, not in column order
    tags, scores, bounds = ranked_kept(probabilities, kept, columns)
    for i, (start, end) in enumerate(bounds):
        ranked = columns[np.argsort(-probabilities[i, columns], kind="stable")]
        expected = [j for j in ranked if kept[i, j]]
        assert tags[start:end] == expected
        assert scores[start:end] == np.round(probabilities[i, expected], 4).tolist()
    assert bounds[-1][1] == len(tags)


@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 2**32 - 1))
@FUZZ
def test_keep_top_k_unkeeps_what_sorting_every_row_would(n_rows, k, seed):
    # Per-tag thresholds let a tag be kept while better-scored ones are not: it must still go
    # when it is not among the row's k best, ties broken by column order.
    rng = np.random.default_rng(seed)
    probabilities = rng.choice([0.0, 0.25, 0.5, 0.50004, 0.9, 1.0], size=(n_rows, 9))
    kept = rng.random((n_rows, 9)) < rng.choice([0.1, 0.5, 0.9])
    columns = np.array([7, 1, 4, 0, 8, 2])
    expected = kept.copy()
    beyond_k = columns[np.argsort(-probabilities[:, columns], axis=1, kind="stable")[:, k:]]
    np.put_along_axis(expected, beyond_k, False, axis=1)
    _keep_top_k(probabilities, kept, columns, k)
    assert (kept == expected).all()
