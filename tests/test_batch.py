"""Batch tagging in parallel (joblib processes, a Dask cluster): exactly the single-process output."""
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from classifier import batch, suggest_lines
from tests.support.fuzz import ANY_CHARACTER, FUZZ
from tests.support.paths import ROOT
from tests.support.texts import EDGE_TEXTS, corpus_paragraphs


@pytest.fixture(scope="module")
def paragraphs():
    return corpus_paragraphs()


# --------------------------------------------------------------------------------------------
# parallel batch tagging equals single-process tagging

@pytest.mark.parametrize("forked", [True, False], ids=["forked workers", "workers that load the model"])
def test_parallel_suggest_and_predict_equal_single_process(bundled_model, bundled_model_dir, paragraphs, forked,
                                                           monkeypatch):
    monkeypatch.setattr(batch, "can_fork", lambda: forked)
    texts = paragraphs[:150] + EDGE_TEXTS
    expected = bundled_model.suggest(texts, threshold=0.2, k=4, explain=True)
    for source in ({"model_dir": bundled_model_dir}, {}):  # loaded from its folder, or sent in memory
        got = list(batch.suggest(bundled_model, texts, chunk_size=37, jobs=2, threshold=0.2, k=4,
                                 explain=True, **source))
        assert got == expected
    probabilities, kept = batch.decide(bundled_model, paragraphs, k=3, jobs=2, chunk_size=200, model_dir=bundled_model_dir)
    expected = bundled_model.decide(paragraphs, k=3)
    assert np.array_equal(probabilities, expected[0]) and np.array_equal(kept, expected[1])


def test_workers_are_not_forked_while_another_thread_runs():
    import threading

    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not batch.can_fork()
    finally:
        release.set()
        other.join()


def test_parallel_options_are_checked_before_work_is_sent(bundled_model, monkeypatch):
    monkeypatch.setattr(batch, "DASK_CONNECT_TIMEOUT", "1s")
    with pytest.raises(ValueError, match="k must be at least 1"):
        next(batch.suggest(bundled_model, ["日銀"], jobs=2, k=0))
    with pytest.raises(ValueError, match="--jobs"):
        list(batch.suggest(bundled_model, ["日銀"], jobs=0))
    with pytest.raises(ValueError, match="cannot reach the Dask scheduler"):
        list(batch.suggest(bundled_model, ["日銀"], dask_scheduler="tcp://127.0.0.1:9"))


def cli_lines(model, records, **options) -> str:
    """What ``python -m classifier suggest`` prints for JSON Lines input, computed in this process."""
    results = model.suggest([r["text"] for r in records], **options)
    return "".join(json.dumps({"id": r["id"], "line": n, **s}, ensure_ascii=False) + "\n"
                   for n, (r, s) in enumerate(zip(records, results), 1))


def write_records(path, texts):
    records = [{"id": f"p{i}", "text": text} for i, text in enumerate(texts) if text.strip()]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return records


@pytest.mark.dask
@pytest.mark.slow
def test_dask_cluster_output_equals_single_process_output(bundled_model, bundled_model_dir, paragraphs, tmp_path):
    from distributed import LocalCluster

    records = write_records(tmp_path / "archive.jsonl", paragraphs)
    command = [sys.executable, "-m", "classifier", "suggest", "--model", str(bundled_model_dir),
               str(tmp_path / "archive.jsonl"), "--batch-size", "128"]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        texts = paragraphs[:300]
        got = list(batch.suggest(bundled_model, texts, chunk_size=50, dask_scheduler=address, threshold=0))
        assert got == bundled_model.suggest(texts, threshold=0)
        probabilities, kept = batch.decide(bundled_model, texts, chunk_size=64, dask_scheduler=address)
        expected = bundled_model.decide(texts)
        assert np.array_equal(probabilities, expected[0]) and np.array_equal(kept, expected[1])
        on_cluster = subprocess.run(command + ["--dask-scheduler", address], capture_output=True, text=True,
                                    cwd=ROOT, timeout=300)
    assert on_cluster.returncode == 0, on_cluster.stderr
    assert on_cluster.stdout == cli_lines(bundled_model, records)


def test_cli_jobs_output_equals_single_process_output(bundled_model, bundled_model_dir, paragraphs, tmp_path):
    records = write_records(tmp_path / "in.jsonl", paragraphs[:200])
    result = subprocess.run([sys.executable, "-m", "classifier", "suggest", "--model", str(bundled_model_dir),
                             str(tmp_path / "in.jsonl"), "--k", "2", "--jobs", "2", "--batch-size", "16"],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == cli_lines(bundled_model, records, k=2)


def test_cli_jobs_read_standard_input_redirected_from_a_file_from_where_it_stands(bundled_model, bundled_model_dir,
                                                                                  paragraphs, tmp_path):
    # The workers read their chunks from the file themselves, by offset: the offset where the
    # command found its input counts, as it does for the lines the command reads.
    path = tmp_path / "in.jsonl"
    records = write_records(path, paragraphs[:300])
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.lseek(descriptor, len(path.read_bytes().split(b"\n", 1)[0]) + 1, os.SEEK_SET)  # past the first line
        result = subprocess.run([sys.executable, "-m", "classifier", "suggest", "--model", str(bundled_model_dir),
                                 "--jobs", "2"], stdin=descriptor, capture_output=True, text=True, cwd=ROOT, timeout=300)
    finally:
        os.close(descriptor)
    assert result.returncode == 0, result.stderr
    assert result.stdout == cli_lines(bundled_model, records[1:])


@pytest.mark.parametrize("delay", [0.45, 0.8, 1.5])
def test_ctrl_c_stops_a_parallel_run_and_all_its_processes(bundled_model_dir, paragraphs, tmp_path, delay):
    # The terminal sends SIGINT to the whole process group: the head start's child, the pool's
    # workers and the command. Whenever it comes (as the workers start, mid-run), the command
    # stops them and exits; nothing is left waiting on a lock.
    path = tmp_path / "in.jsonl"
    write_records(path, paragraphs * (60_000 // len(paragraphs)))
    command = [sys.executable, "-m", "classifier", "suggest", "--model", str(bundled_model_dir), str(path)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    time.sleep(delay)
    os.killpg(process.pid, signal.SIGINT)
    try:
        stderr = process.communicate(timeout=60)[1].decode()
        if process.returncode == 0:
            pytest.skip(f"the run ended within {delay} s on this machine")
        assert (process.returncode, stderr) == (130, "interrupted\n")
        for _ in range(50):  # every process of the run is gone
            os.killpg(process.pid, 0)
            time.sleep(0.1)
        pytest.fail("processes of the run were left behind")
    except ProcessLookupError:
        pass
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # a hung run's processes, if any


def test_cli_names_a_bad_input_line_in_parallel_runs(bundled_model_dir, tmp_path):
    inputs = tmp_path / "bad.jsonl"
    inputs.write_text('{"text": "日銀"}\n{oops}\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "classifier", "suggest", "--model", str(bundled_model_dir),
                             str(inputs), "--jobs", "2"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 2
    assert f"{inputs}:2: invalid JSON" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("line, message", [
    (b"\x82\xa0\x82\xa2", ":3: not valid UTF-8 (byte 0x82 at offset 0); it looks like Shift_JIS"),
    (b'{"id": ' + b"1" * 5000 + b', "text": "x"}', ":3: invalid JSON: a number too long to read"),
    (b'{"id": ' + b"[" * 100000 + b"]" * 100000 + b', "text": "x"}', ":3: invalid JSON: arrays or objects nested too deeply"),
])
def test_cli_names_an_undecodable_or_unreadable_line_from_a_file_or_a_pipe(bundled_model_dir, tmp_path, jobs,
                                                                          line, message):
    inputs = tmp_path / "bad.jsonl"
    inputs.write_bytes('{"text": "日銀"}\n日銀は利上げを決めた\n'.encode() + line + b"\n")
    command = [sys.executable, "-m", "classifier", "suggest", "--model", str(bundled_model_dir), "--jobs", jobs]
    from_file = subprocess.run(command + [str(inputs)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    from_pipe = subprocess.run(command, input=inputs.read_bytes(), capture_output=True, cwd=ROOT, timeout=300)
    assert from_file.returncode == from_pipe.returncode == 2
    assert from_file.stderr.startswith(f"error: {inputs}{message}"), from_file.stderr
    assert from_pipe.stderr.decode().startswith(f"error: <stdin>{message}"), from_pipe.stderr
    assert from_file.stdout == "" and from_pipe.stdout == b""  # nothing of the chunk with the bad line



# --------------------------------------------------------------------------------------------
# the command line's chunks: JSON text made from the chunk's arrays equals suggest + json.dumps

@pytest.mark.parametrize("k, threshold", [(None, None), (1, None), (3, 0.2), (10, 0.0), (50, 0.0), (2, 1.0)])
def test_suggestions_json_equals_suggest_then_json_dumps(bundled_model, paragraphs, k, threshold):
    texts = paragraphs[:300] + EDGE_TEXTS
    ids = [None, "p1", 7, 1.5, -0.0, {"a": ["b", 1]}, "引用「ä」\n\"", [1, None], True]
    records = [(n, ids[n % len(ids)], text) for n, text in enumerate(texts, 1)]
    expected = suggest_lines.format_records(records, bundled_model.suggest(texts, k=k, threshold=threshold))
    assert suggest_lines.suggestions_json(bundled_model, records, texts, k, threshold) == expected
    assert all(json.loads(line)["line"] == n for line, (n, _, _) in zip(expected.splitlines(), records))


def test_suggest_lines_reports_a_bad_line_and_skips_blank_ones(bundled_model):
    options = {"k": None, "threshold": None, "explain": False}
    text, count, error = suggest_lines.suggest_lines(bundled_model, 10, ["日銀は利上げを決めた\n", "\n", '{"text": 3}\n'], options)
    assert (text, count, error) == (b"", 0, (12, "a JSON input line needs a string 'text'"))
    text, count, error = suggest_lines.suggest_lines(bundled_model, 10, ["日銀は利上げを決めた\n", "  \n", '{"id": 1, "text": "NATO"}\n'],
                                             options)
    assert count == 2 and error is None
    assert [json.loads(line)["line"] for line in text.splitlines()] == [10, 12]


def _read_line_by_line(lines, first):
    """What read_records reads, line by line with json.loads: its reference."""
    records = []
    for number, line in enumerate(lines, first):
        try:
            line = suggest_lines.decoded(line)
            if line.strip():
                records.append((number, *suggest_lines.parse_line(line)))
        except suggest_lines.BadLine as error:
            return records, (number, str(error))
    return records, None


JSON_PIECES = ['{"text": "日銀"}', '{"id": 7, "text": "NATO"}', '{"text": 3}', '{"id": [1, {"a": null}], "text": ""}',
               "{", "}", '"text"', ": ", ", ", "[", "]", "1e999", "9" * 5000, "[" * 3000, " ", "\t", "\r", "\u3000",
               "\ufeff", "x", "\\u00e9", '"\\ud800"', "\n"]


@given(st.lists(st.one_of(st.lists(st.sampled_from(JSON_PIECES), max_size=8).map("".join),
                          st.text(ANY_CHARACTER, max_size=20),
                          st.binary(max_size=12)), max_size=6))
@FUZZ
@example(['{"text": "a"} \r\n', '{"text": "b"} x\n', "\n"])
@example(['{"text": "a", "text": 5}\n'])
@example(['{"text": "a"}\u3000\n'])  # json.loads allows only JSON's own whitespace after a value
@example([b'{"text": "\xe6\x97"}\n'])
def test_read_records_reads_every_line_as_json_loads_line_by_line_does(lines):
    _assert_reads_as(lines, *_read_line_by_line(lines, 5))


def _assert_reads_as(chunk, expected, expected_error):
    try:
        got = suggest_lines.read_records(chunk, 5)
    except suggest_lines.BadLine as error:
        assert (error.number, str(error)) == expected_error
    else:
        assert expected_error is None and got == expected


@given(st.lists(st.one_of(st.lists(st.sampled_from(JSON_PIECES), max_size=8).map(lambda p: "".join(p).encode()),
                          st.text(ANY_CHARACTER, max_size=20).map(lambda t: t.encode("utf-8", "surrogatepass")),
                          st.binary(max_size=12)).map(lambda line: line.replace(b"\n", b"")), max_size=6),
       st.booleans())
@FUZZ
@example([b'{"text": "a"}', b"\xe6\x97", b'{"text": "b"}'], True)
def test_a_chunk_as_one_block_of_bytes_reads_as_its_lines_do(lines, last_newline):
    # The command sends a chunk to a worker as the bytes of its lines, joined: it reads as the
    # file's lines one by one, each without its newline (a JSON error's position is then in
    # the line, not past its end).
    block = b"\n".join(lines) + (b"\n" if last_newline else b"")
    file_lines = [line.removesuffix(b"\n") for line in io.BytesIO(block).readlines()]
    _assert_reads_as(block, *_read_line_by_line(file_lines, 5))


def test_a_chunk_as_where_it_lies_in_the_file_reads_as_its_bytes_do(tmp_path):
    block = '{"text": "日銀"}\n\n{"id": 2, "text": "NATO"}\n'.encode()
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"text": "x"}\n' + block)
    with open(path, "rb") as stream:
        where = suggest_lines.FileRange(stream.fileno(), 14, len(block))
        assert suggest_lines.read_records(where, 2) == suggest_lines.read_records(block, 2)
        path.write_bytes(block)  # cut short (and rewritten) under the reader
        with pytest.raises(OSError, match="cut short while it was read"):
            suggest_lines.read_records(where, 2)


# --------------------------------------------------------------------------------------------
# when to go parallel, and how much is in flight

def test_default_jobs_start_workers_only_for_a_large_input(monkeypatch):
    monkeypatch.setattr(batch, "usable_cores", lambda: 2)
    assert batch.auto_start(None, None, 2_500) is None  # ten lines: this process only
    assert batch.auto_start(None, None, batch.PARALLEL_MIN_BYTES) == 0  # a large file: at once
    assert batch.auto_start(None, None, None) == batch.PARALLEL_MIN_CHUNKS  # a stream: once it is long
    assert batch.auto_start(1, None, 10 ** 9) is None  # --jobs 1 forces one process
    assert batch.auto_start(2, None, 10) == 0  # --jobs N as asked
    assert batch.auto_start(None, "tcp://x:8786", 10) == 0
    assert not batch.is_parallel(None, None, batch.PARALLEL_MIN_TEXTS - 1)
    assert batch.is_parallel(None, None, batch.PARALLEL_MIN_TEXTS)
    monkeypatch.setattr(batch, "usable_cores", lambda: 1)
    assert batch.auto_start(None, None, 10 ** 9) is None  # one core: nothing to gain
    assert batch.auto_start(-1, None, 10 ** 9) is None


def test_a_files_last_chunks_are_smaller_and_come_only_at_its_end():
    from classifier.cli import scoring

    size, n_lines, line_bytes = 16, 100, 230
    read = [0]
    sizes = scoring._file_chunk_sizes(size, lambda: (n_lines - read[0]) * line_bytes)
    chunks = []
    while read[0] < n_lines:
        chunks.append(min(next(sizes), n_lines - read[0]))
        read[0] += chunks[-1]
    part = size // scoring.TAIL_PART
    tail = scoring.TAIL_CHUNKS * size
    # full chunks while more than TAIL_CHUNKS of them are left, then quarter chunks to the end
    assert chunks == [size] * 3 + [part] * 13
    assert sum(chunks[3:]) < tail <= sum(chunks[2:])


def test_map_ordered_keeps_order_and_reads_a_bounded_way_ahead(bundled_model, bundled_model_dir):
    read, yielded, ahead = [0], [0], []
    options = {"k": 2, "threshold": 0.0, "explain": False}

    def tasks():
        for i in range(60):
            read[0] += 1
            ahead.append(read[0] - yielded[0])
            yield i + 1, [f"日銀は{i}回目の利上げを決めた\n"], options

    results = []
    for text, count, error in batch.map_ordered(suggest_lines.suggest_lines, tasks(), bundled_model, jobs=2,
                                                model_dir=bundled_model_dir, start_after=3):
        yielded[0] += 1
        results.append(json.loads(text)["line"])
    assert results == list(range(1, 61))
    n_workers, here = 1, 1
    bound = batch.QUEUED_PER_WORKER * n_workers + batch.HELD_PER_PROCESS * (n_workers + here) + 1
    assert max(ahead) <= bound


def test_parallel_decide_reports_progress(bundled_model, bundled_model_dir, paragraphs):
    done = []
    probabilities, kept = batch.decide(bundled_model, paragraphs, jobs=2, chunk_size=100, model_dir=bundled_model_dir,
                                       progress=done.append)
    assert sum(done) == len(paragraphs) and len(done) == -(-len(paragraphs) // 100)
    expected = bundled_model.decide(paragraphs)
    assert np.array_equal(probabilities, expected[0]) and np.array_equal(kept, expected[1])
