"""The head start of a large suggest run: chunks tokenized in a child while the model loads are
scored to exactly what their lines give, and anything that goes wrong leaves them to the workers."""
import json
import subprocess
import sys
import time

import pytest

from classifier import head_start
from classifier.suggest_lines import Tokenized, read_records, suggest_lines
from classifier.text import Tokenizer
from tests.support.paths import ROOT
from tests.support.texts import EDGE_TEXTS, corpus_paragraphs

OPTIONS = {"k": None, "threshold": None, "explain": False}


def blocks(lines: list[str], size: int) -> list[tuple[int, bytes]]:
    """(number of the first line, the lines as one block of bytes) for every ``size`` lines."""
    return [(start + 1, "".join(line + "\n" for line in lines[start:start + size]).encode())
            for start in range(0, len(lines), size)]


def json_lines(texts) -> list[str]:
    return [json.dumps({"id": f"p{i}", "text": text}, ensure_ascii=False) for i, text in enumerate(texts)]


class Connection:
    """The child's end of the pipe: told to stop once ``poll`` has been asked ``stop_after`` times."""

    def __init__(self, stop_after: int = 10**6):
        self.polls, self.stop_after, self.sent = 0, stop_after, []

    def poll(self):
        self.polls += 1
        return self.polls > self.stop_after

    def recv(self):
        return None

    def send(self, value):
        self.sent.append(value)


def test_the_child_tokenizes_chunks_in_order_until_told_to_stop():
    tokenizer = Tokenizer()
    chunks = blocks(json_lines(corpus_paragraphs()[:50] + EDGE_TEXTS), 16)
    for stop_after, expected in [(10**6, len(chunks)), (2, 2), (0, 0)]:
        connection = Connection(stop_after)
        head_start._tokenize(connection, tokenizer, chunks)
        [done] = connection.sent
        assert len(done) == expected
        for (first, block), chunk in zip(chunks, done):
            records = read_records(block, first)
            assert chunk.records == [(number, identifier, None) for number, identifier, _ in records]
            assert chunk.token_strings == tokenizer.token_strings([text for _, _, text in records])


def test_the_child_stops_before_a_chunk_with_a_bad_line():
    lines = json_lines(["日銀は利上げを決めた"] * 5) + ["{oops}"] + json_lines(["NATOの首脳会議"] * 5)
    connection = Connection()
    head_start._tokenize(connection, Tokenizer(), blocks(lines, 4))
    assert len(connection.sent[0]) == 1  # lines 1-4; the chunk of lines 5-8 is left to a worker, which names line 6


def test_tokenized_chunks_score_as_their_lines_do(bundled_model):
    lines = json_lines(corpus_paragraphs()[:120] + EDGE_TEXTS)
    connection = Connection()
    chunks = blocks(lines, 40)
    head_start._tokenize(connection, bundled_model.tokenizer_, chunks)
    for (first, block), tokenized in zip(chunks, connection.sent[0]):
        assert suggest_lines(bundled_model, first, tokenized, OPTIONS) == suggest_lines(bundled_model, first, block, OPTIONS)
    with pytest.raises(ValueError, match="no texts to explain"):
        suggest_lines(bundled_model, 1, connection.sent[0][0], {**OPTIONS, "explain": True})


def test_a_forked_head_start_hands_back_every_chunk(bundled_model):
    chunks = blocks(json_lines(corpus_paragraphs()[:60]), 20)
    with head_start.HeadStart(bundled_model.tokenizer_, chunks) as head:
        time.sleep(1.0)  # the child has long finished three small chunks
        done = head.finish(bundled_model.tokenizer_)
    assert [type(chunk) for chunk in done] == [Tokenized] * 3
    with head_start.HeadStart(bundled_model.tokenizer_, chunks) as head:
        time.sleep(1.0)
        # a model with another tokenizer than the metadata said: its chunks are scored from their lines
        assert head.finish(Tokenizer(pos="nouns")) == [block for _, block in chunks]
    with head_start.HeadStart(bundled_model.tokenizer_, chunks) as head:
        pass  # left without finishing (the model failed to load): the child is stopped
    assert not head._process.is_alive()


def test_the_tokenizer_is_read_from_the_model_metadata(bundled_model, bundled_model_dir, tmp_path):
    assert head_start.model_tokenizer(bundled_model_dir) == bundled_model.tokenizer_
    assert head_start.model_tokenizer(tmp_path) is None  # no metadata: loading the model says what is wrong
    (tmp_path / "metadata.json").write_text('{"params": {"form": "surface"}}', encoding="utf-8")
    assert head_start.model_tokenizer(tmp_path) is None


# The command with its head start held back for a second, as on a slow machine where the model
# loads after the child's first chunks; it says on stderr how many chunks came back tokenized.
# In a process of its own: the test process may run other threads, and then nothing is forked.
SLOW_MODEL_LOAD = """
import sys, time
from classifier import head_start
from classifier.cli import main

finish = head_start.HeadStart.finish


def finish_later(self, tokenizer):
    time.sleep(1.0)
    done = finish(self, tokenizer)
    print(sum(isinstance(chunk, head_start.Tokenized) for chunk in done), len(done), file=sys.stderr)
    return done


head_start.HeadStart.finish = finish_later
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("bad_line", [None, 300])
def test_suggest_scores_the_head_starts_chunks_to_the_single_process_output(bundled_model_dir, tmp_path, bad_line):
    lines = json_lines(corpus_paragraphs(700)[:700])
    if bad_line:
        lines[bad_line - 1] = '{"text": 3}'
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    command = ["suggest", "--model", str(bundled_model_dir), str(inputs)]
    one = subprocess.run([sys.executable, "-m", "classifier", *command, "--jobs", "1"], capture_output=True,
                         cwd=ROOT, timeout=300)
    two = subprocess.run([sys.executable, "-c", SLOW_MODEL_LOAD, *command, "--jobs", "2"], capture_output=True,
                         cwd=ROOT, timeout=300)
    assert two.stdout == one.stdout and one.returncode == two.returncode == (2 if bad_line else 0)
    tokenized, chunks = map(int, two.stderr.decode().splitlines()[0].split())
    assert chunks == 3  # 700 lines: 256, 256, 188
    if bad_line:  # the first chunk is tokenized; the second, with line 300, is left to a worker, which names it
        assert tokenized == 1 and len(one.stdout.splitlines()) == 256
        assert f"{inputs}:300: a JSON input line needs a string 'text'" in two.stderr.decode()
    else:
        assert tokenized == 3 and len(one.stdout.splitlines()) == 700
