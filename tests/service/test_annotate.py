"""classifier.service.annotate: POST /annotate, its answers, its JSON errors and its limits."""
import pytest

from tests.support.drafts import COOKING, NATO, SWAP, make_draft


@pytest.fixture
def client(bundled_model_dir, tmp_path):
    from classifier.service import create_app

    app = create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(tmp_path / "feedback.sqlite3")})
    return app.test_client()


def test_post_annotate_answers_blocks_tags_and_lines(client):
    response = client.post("/annotate", json={"text": make_draft(SWAP, NATO, COOKING), "k": 3})
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"model", "blocks", "post_tags", "post_tag_lines", "post_tags_drafted", "header", "footer",
                         "blank_lines", "post"}
    block = body["blocks"][0]
    assert set(block) == {"line_number", "paragraphs", "tags", "alternatives", "line", "drafted", "summary", "written"}
    assert block["tags"][0] == {"tag": "#捕虜交換", "score": block["tags"][0]["score"]}
    assert len(block["tags"]) <= 3 and block["drafted"] is True and block["line"].startswith("#捕虜交換(")
    assert body["blocks"][2]["line"] is None and body["post_tag_lines"] and body["post"].count("\n#") >= 2


@pytest.mark.parametrize("body, status, code", [
    ({"text": "#NATO(要約)\n本文"}, 400, "invalid_draft"),
    ({"text": "   "}, 400, "empty_text"),
    ({"text": NATO, "k": 0}, 400, "invalid_k"),
    ({"text": NATO, "explain": True}, 400, "invalid_request"),
    ({"texts": [NATO]}, 400, "invalid_request"),
])
def test_post_annotate_refuses_bad_input_with_a_json_error(client, body, status, code):
    response = client.post("/annotate", json=body)
    assert response.status_code == status and response.get_json()["error"]["code"] == code


@pytest.mark.parametrize("text", ["#対中露戦#反ロシア", "#$eF\u00b5O4", "#NATOexpansion\n#対中露戦"])
def test_a_draft_with_no_paragraph_is_given_back_with_nothing_to_tag(client, text):
    # Only bare tag lines: they are the post's tags as written, and no block needs a line.
    response = client.post("/annotate", json={"text": text})
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["blocks"] == [] and body["post_tags"] == [] and body["post_tags_drafted"] is False
    assert body["post_tag_lines"] == text.split("\n") and body["post"] == text + "\n"


def test_post_annotate_limits_the_size_and_wants_json(client, bundled_model_dir, tmp_path):
    from classifier.service import create_app

    assert client.post("/annotate", data="text", content_type="text/plain").status_code == 415
    small = create_app({"MODEL_DIR": str(bundled_model_dir), "FEEDBACK_PATH": str(tmp_path / "f.sqlite3"),
                        "MAX_TEXT_CHARS": 100}).test_client()
    response = small.post("/annotate", json={"text": make_draft(SWAP, NATO)})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "text_too_long"


def test_openapi_documents_annotate(client):
    document = client.get("/openapi.json").get_json()
    assert "/annotate" in document["paths"] and "AnnotateResponse" in document["components"]["schemas"]
