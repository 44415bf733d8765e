"""classifier.service.suggest: /suggest, /tags and /model on the bundled model."""
from tests.support.openapi import check_against_contract


def test_suggest_one_text(client, openapi):
    response = client.post("/suggest", json={"text": "日銀の植田総裁は会見で追加利上げの可能性に言及した。"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["results"][0]["tags"][0]["tag"] == "#日銀"
    assert body["model"]
    check_against_contract(openapi, "/suggest", "post", response)


def test_suggest_many_texts_with_options(client, openapi):
    texts = ["FRBのパウエル議長は利下げを急がない考えを示した。", "パスタを茹でてソースと和えます。"]
    response = client.post("/suggest", json={"texts": texts, "k": 2, "threshold": 0, "explain": True})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert len(results) == 2 and all(len(r["tags"]) == 2 and len(r["post_tags"]) == 2 for r in results)
    assert results[0]["tags"][0]["tag"] == "#FRB"
    assert results[0]["tags"][0]["terms"]
    check_against_contract(openapi, "/suggest", "post", response)


def test_suggest_abstains_with_empty_list(client):
    response = client.post("/suggest", json={"text": "パスタを茹でてソースと和えます。"})
    assert response.get_json()["results"][0] == {"tags": [], "post_tags": []}


def test_tags_model_health_ready(client, openapi):
    tags = client.get("/tags")
    assert tags.status_code == 200
    listed = {t["tag"]: t for t in tags.get_json()["tags"]}
    assert listed["#日銀"]["scope"] == "block" and listed["#日銀"]["count"] >= 5
    assert listed["#反ロシア"]["scope"] == "post"
    check_against_contract(openapi, "/tags", "get", tags)
    model = client.get("/model").get_json()
    assert model["version"] == tags.get_json()["model"]
    assert model["holdout"]["scores"]["micro_f1"] > 0
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["ready"] is True
    check_against_contract(openapi, "/readyz", "get", ready)
