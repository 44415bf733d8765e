#!/usr/bin/env python3
"""Performance benchmark of the hashtag service against its floor and the textbook peer.

Run it through ``bash bench/run.sh`` (which checks for wrk and installs what is missing), or
directly as ``python bench/run.py`` once wrk is on the PATH. In one run, on the bundled corpus
and on synthetic scale-ups of it (x1, x4, x16), it measures:

- raw fugashi throughput (``Tagger.parse`` in wakati mode) on the same paragraphs: the floor;
- ``HashtagModel.suggest`` in-process against it: batches as the CLI sends them
  (``classifier.config.BATCH_SIZE``), batches of 256 (a full /suggest request), one paragraph a call;
- training time, CPU time and peak memory against corpus size, and the model's size on disk;
- the production server (``python -m classifier serve``, as configured by default) on loopback
  under wrk: latency at concurrency 1, requests/s at concurrency 8 for one paragraph a request
  and for batches of 64, errors, peak RSS per worker;
- the same for the textbook peer in ``bench/baseline.py`` (TfidfVectorizer over fugashi
  surfaces, LogisticRegression, Flask's development server), beside ours in every run.

It writes ``RESULTS.md`` into ``--out`` (default ``bench/``), and ``results.json`` beside it when
``--out`` names another folder or ``--json`` asks for it. The machines are shared and noisy, so
every comparison is made within the run, measurements are repeated and interleaved, and medians
and ratios are quoted; in-process figures use the process's CPU time (what the code costs),
with wall-clock time beside them in the JSON.
"""
from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib.metadata
import json
import math
import os
import platform
import random
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
sys.path[:0] = [str(ROOT), str(BENCH)]

from classifier import load_corpus, load_model  # noqa: E402
from classifier.config import BATCH_SIZE, MIN_COUNT  # noqa: E402

BATCH = BATCH_SIZE  # texts per model call, as `python -m classifier suggest` sends them
REQUEST_BATCH = 256  # the most texts one /suggest request may hold (HASHTAG_MAX_TEXTS)
SERVER_BATCH = 64
CHUNK = 4 * BATCH  # paragraphs every in-process measure takes in turn
LUA = BENCH / "suggest.lua"
FLOOR_MEASURE = "floor: fugashi Tagger('-Owakati').parse, one paragraph a call"
BATCHES_MEASURE = f"ours: suggest, batches of {BATCH} (the library call)"
CLI_CHUNK_MEASURE = f"ours: the CLI's chunk of {BATCH} JSON Lines (suggest_lines: JSON in, JSON text out)"
SERVER_TESTS = ("c1_single", "c8_single", "c8_batch64")


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def command_line(command) -> str:
    text = " ".join(shlex.quote(str(part)) for part in command)
    return text.replace(sys.executable, "python").replace(str(ROOT) + "/", "")


def git(*arguments: str) -> str:
    return subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True).stdout.strip()


# --------------------------------------------------------------------------------------------
# the machine

def machine() -> dict:
    from classifier.persist import library_versions

    def read(path):
        try:
            return Path(path).read_text()
        except OSError:
            return ""

    cpu = next((line.split(":", 1)[1].strip() for line in read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")
    memory = next((line.split()[1] for line in read("/proc/meminfo").splitlines() if line.startswith("MemTotal")), None)
    versions = library_versions()
    for name in ("flask", "gunicorn", "werkzeug"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    if shutil.which("wrk"):
        banner = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()
        versions["wrk"] = banner[0].split(" [")[0] if banner else "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return {"cpu": cpu, "cores": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0)),
            "memory_gib": round(int(memory) / 2 ** 20, 1) if memory else None, "os": platform.platform(),
            "hostname": platform.node(), "versions": versions,
            "git_commit": git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes)" if dirty else ""),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


# --------------------------------------------------------------------------------------------
# the corpus and its synthetic scale-up

def paragraphs_of(examples) -> list[str]:
    return [line for example in examples for line in example.text.splitlines() if line.strip()]


def scale_up(examples: list, factor: int, seed: int = 0) -> list:
    """The corpus plus ``factor - 1`` synthetic copies of it.

    A copy of a post keeps each block's labels and number of paragraphs, and draws those
    paragraphs at random (seeded) from every block of the corpus with the same labels; posts get
    new names. The texts are new combinations of real paragraphs and the labels stay true to
    them; the vocabulary is the corpus's own, so the scale-up measures the cost of more text.
    """
    rng = random.Random(seed)
    pool = defaultdict(list)
    for example in examples:
        pool[(example.tags, example.post_tags)].extend(paragraphs_of([example]))
    scaled = list(examples)
    for copy in range(1, factor):
        for example in examples:
            candidates = pool[(example.tags, example.post_tags)] or [example.text]
            n = max(1, len(paragraphs_of([example])))
            scaled.append(dataclasses.replace(
                example, text="\n".join(rng.choice(candidates) for _ in range(n)),
                source=f"{example.source}~{copy}", group=f"{example.group or example.source}~{copy}"))
    return scaled


def write_jsonl(examples, path: Path) -> None:
    with open(path, "w", encoding="utf-8") as stream:
        for e in examples:
            stream.write(json.dumps({"text": e.text, "tags": list(e.tags), "post_tags": list(e.post_tags),
                                     "post": e.group or e.source}, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------------------------
# training, in a subprocess each: wall and CPU time, peak memory, size on disk

def run_measured(command, log: Path) -> dict:
    started = time.perf_counter()
    with open(log, "w") as output:
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command_line(command)} failed:\n{log.read_text()[-3000:]}")
    return {"command": command_line(command), "wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)}


def train_ours(data: str, out: Path, work: Path, options: tuple = ()) -> dict:
    result = run_measured([sys.executable, "-m", "classifier", "train", "--data", data, "--out", str(out), *options],
                          work / f"train-{out.name}.log")
    metadata = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    result.update({"fit_s": metadata["fit_seconds"], "n_examples": metadata["data"]["n_examples"],
                   "n_tags": len(metadata["tags"]), "min_count": metadata["params"]["min_count"],
                   "n_train": metadata["holdout"].get("n_train", metadata["data"]["n_examples"]
                                                      - metadata["holdout"].get("n_held_out", 0)),
                   "model_mb": round((out / metadata["artifact"]).stat().st_size / 1e6, 2),
                   "held_out": metadata["holdout"]["scores"], "params": metadata["params"]})
    return result


def train_baseline(data: str, out: Path, work: Path) -> dict:
    log = work / f"train-{out.stem}.log"
    result = run_measured([sys.executable, str(BENCH / "baseline.py"), "train", "--data", data, "--out", str(out)], log)
    reported = json.loads(log.read_text().strip().splitlines()[-1])
    result.update({"fit_s": round(reported["fit_seconds"], 2), "n_train": reported["n_examples"],
                   "model_mb": round(out.stat().st_size / 1e6, 2)})
    return result


def exponent(sizes, seconds) -> float | None:
    """b in seconds = a * size^b, least squares in log-log: 1 is linear."""
    pairs = [(math.log(n), math.log(s)) for n, s in zip(sizes, seconds) if n and s]
    if len(pairs) < 2:
        return None
    mx = sum(x for x, _ in pairs) / len(pairs)
    my = sum(y for _, y in pairs) / len(pairs)
    return round(sum((x - mx) * (y - my) for x, y in pairs) / sum((x - mx) ** 2 for x, _ in pairs), 2)


def training_at(scales: list[int], corpora: dict, work: Path) -> dict:
    training = {"ours": [], "ours_default_min_count": [], "baseline": []}
    for scale in scales:
        # A copy of the corpus copies its rare tags too: at x16 a tag seen once is seen 16 times
        # and crosses --min-count, so the default settings learn more tags and the work grows
        # with size times tags. Scaling --min-count with the copies keeps the same tags at every
        # scale, which is what "linear in corpus size" asks about; the default runs are measured
        # as well and shown beside them.
        say(f"  x{scale}: ours (the same tags at every scale: --min-count {MIN_COUNT * scale})")
        options = ("--min-count", str(MIN_COUNT * scale)) if scale > 1 else ()
        training["ours"].append({"scale": f"x{scale}", **train_ours(corpora[scale]["data"], work / f"ours-x{scale}",
                                                                    work, options)})
        if scale > 1:
            say(f"  x{scale}: ours (default --min-count)")
            t = train_ours(corpora[scale]["data"], work / f"ours-default-x{scale}", work)
            training["ours_default_min_count"].append({"scale": f"x{scale}", **t})
        say(f"  x{scale}: baseline")
        b = train_baseline(corpora[scale]["data"], work / f"baseline-x{scale}.joblib", work)
        training["baseline"].append({"scale": f"x{scale}", "n_examples": len(corpora[scale]["examples"]), **b})
    ours = training["ours"]
    sizes = [t["n_examples"] for t in ours]
    training["exponent_cpu"] = exponent(sizes, [t["cpu_s"] for t in ours])
    # between consecutive scales: fixed costs (start-up, imports) weigh on the smallest only
    training["exponent_cpu_steps"] = [exponent(sizes[i:i + 2], [t["cpu_s"] for t in ours[i:i + 2]])
                                      for i in range(len(sizes) - 1)]
    training["exponent_fit"] = exponent(sizes, [t["fit_s"] for t in ours])
    default_runs = ours[:1] + training["ours_default_min_count"]
    training["exponent_cpu_default_min_count"] = exponent([t["n_examples"] for t in default_runs],
                                                          [t["cpu_s"] for t in default_runs])
    # size times tags: the work of one-vs-rest training when the label set grows
    training["exponent_cpu_default_min_count_per_tag"] = exponent(
        [t["n_examples"] * t["n_tags"] for t in default_runs], [t["cpu_s"] for t in default_runs])
    training["exponent_cpu_baseline"] = exponent(sizes, [t["cpu_s"] for t in training["baseline"]])
    training["extrapolated"] = extrapolate(default_runs, TRAIN_TARGET_BLOCKS)
    return training


TRAIN_TARGET_BLOCKS = 100_000


def large_training(examples: list, scale: int, work: Path) -> dict:
    """One training run at a large scale (``--large-training``), with the same tags as the other
    ``ours`` runs: wall time and the peak RSS of every process it starts (the fits of a large
    corpus run in a process per core), polled."""
    import batch

    scaled = scale_up(examples, scale)
    path = work / f"corpus-x{scale}.jsonl"
    write_jsonl(scaled, path)
    out = work / f"ours-x{scale}"
    command = [sys.executable, "-m", "classifier", "train", "--data", str(path), "--out", str(out),
               "--min-count", str(MIN_COUNT * scale)]
    measured = batch.run_command(command)
    metadata = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    path.unlink()
    return {"scale": f"x{scale}", "blocks": len(scaled), "n_tags": len(metadata["tags"]), "wall_s": measured["wall_s"],
            "peak_rss_mb": measured["peak_rss_mb"], "peak_rss_mb_all": measured["peak_rss_mb_all"],
            "processes": measured["processes"], "held_out": metadata["holdout"]["scores"],
            "command": command_line(command).replace(str(work) + "/", "")}


def extrapolate(runs: list[dict], n: int) -> dict | None:
    """Wall time and peak RSS of training on ``n`` blocks, from the measured default runs: time by
    the power law fitted on the two largest runs (the local growth, steeper than over all runs
    when the label set grows), memory by the straight line through them."""
    if len(runs) < 2:
        return None
    a, b = runs[-2], runs[-1]
    power = exponent([a["n_examples"], b["n_examples"]], [a["wall_s"], b["wall_s"]])
    wall = b["wall_s"] * (n / b["n_examples"]) ** power
    slope = (b["peak_rss_mb"] - a["peak_rss_mb"]) / (b["n_examples"] - a["n_examples"])
    rss = b["peak_rss_mb"] + slope * (n - b["n_examples"])
    return {"blocks": n, "from": [a["scale"], b["scale"]], "exponent_wall": power, "wall_s": round(wall),
            "peak_rss_mb": round(rss), "rss_mb_per_1000_blocks": round(slope * 1000, 1)}


# --------------------------------------------------------------------------------------------
# in-process throughput

def timed(function) -> tuple[float, float]:
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def sample(items: list, n: int) -> list:
    if len(items) <= n:
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def chunks_of(texts: list[str], size: int) -> list[list[str]]:
    """``texts`` in chunks of ``size``; a short tail joins the chunk before it."""
    chunks = [texts[i:i + size] for i in range(0, len(texts), size)]
    if len(chunks) > 1 and len(chunks[-1]) < size // 2:
        tail = chunks.pop()
        chunks[-1] = chunks[-1] + tail
    return chunks


def in_process(texts: list[str], ours, base, rounds: int, singles: int) -> dict:
    import fugashi

    import baseline

    floor_tagger = fugashi.Tagger("-Owakati")
    few = sample(texts, singles)
    chars, few_chars = sum(map(len, texts)), sum(map(len, few))
    ours.suggest(texts[:8])
    baseline.suggest(base, texts[:8])

    def in_batches(suggest, size):
        return lambda chunk: [suggest(chunk[i:i + size]) for i in range(0, len(chunk), size)]

    def peer(batch):
        return baseline.suggest(base, batch)

    from classifier.suggest_lines import suggest_lines

    options = {"k": None, "threshold": None, "explain": False}

    def cli_chunks(chunk):
        # the lines of an archive (bench/make_archive.py), made outside the timed call
        lines = json_lines[id(chunk)]
        return [suggest_lines(ours, i + 1, lines[i:i + BATCH], options) for i in range(0, len(lines), BATCH)]

    # Measures over the whole corpus are taken chunk by chunk, every measure on a chunk before
    # the next chunk, so that the floor and what is compared with it run within a second or two
    # of each other even at x16; taken whole, they would be tens of seconds apart, and the
    # machine's other jobs come and go in between.
    on_chunks = {
        FLOOR_MEASURE: lambda chunk: [floor_tagger.parse(t) for t in chunk],
        BATCHES_MEASURE: in_batches(ours.suggest, BATCH),
        CLI_CHUNK_MEASURE: cli_chunks,
        f"ours: suggest, batches of {REQUEST_BATCH} (a full /suggest request)": in_batches(ours.suggest, REQUEST_BATCH),
        f"baseline: suggest, batches of {BATCH}": in_batches(peer, BATCH),
        f"baseline: suggest, batches of {REQUEST_BATCH}": in_batches(peer, REQUEST_BATCH),
    }
    on_sample = {
        "ours: suggest, one paragraph a call": lambda: [ours.suggest([t]) for t in few],
        "baseline: suggest, one paragraph a call": lambda: [peer([t]) for t in few],
    }
    chunks = chunks_of(texts, CHUNK)
    json_lines = {id(chunk): [json.dumps({"id": f"p{n}", "text": t}, ensure_ascii=False) + "\n" for n, t in enumerate(chunk)]
                  for chunk in chunks}
    names = list(on_chunks)
    runs = defaultdict(list)
    for round_ in range(rounds):
        totals = {name: [0.0, 0.0] for name in on_chunks}
        for c, chunk in enumerate(chunks):
            # in an order turned by one each time, so that no measure always follows the same one
            turn = (round_ + c) % len(names)
            for name in names[turn:] + names[:turn]:
                wall, cpu = timed(lambda: on_chunks[name](chunk))
                totals[name][0] += wall
                totals[name][1] += cpu
        for name, (wall, cpu) in totals.items():
            runs[name].append({"wall_s": wall, "cpu_s": cpu, "chars": chars, "texts": len(texts)})
        for name, function in on_sample.items():
            wall, cpu = timed(function)
            runs[name].append({"wall_s": wall, "cpu_s": cpu, "chars": few_chars, "texts": len(few)})
    # the floor, ours, then the baseline, each from the largest batches to one paragraph a call
    every = [*on_chunks, *on_sample]
    order = [FLOOR_MEASURE, *[n for n in every if n.startswith("ours")], *[n for n in every if n.startswith("baseline")]]
    floor = runs[FLOOR_MEASURE]

    def ratios(values, clock):
        # the ratio to the floor of the same round
        return [(v["chars"] / v[clock]) / (f["chars"] / f[clock]) for v, f in zip(values, floor)]

    measures = {}
    for name in order:
        values = runs[name]
        measures[name] = {
            "chars_per_s_cpu": round(statistics.median(v["chars"] / v["cpu_s"] for v in values)),
            "chars_per_s_wall": round(statistics.median(v["chars"] / v["wall_s"] for v in values)),
            "us_per_paragraph_cpu": round(statistics.median(1e6 * v["cpu_s"] / v["texts"] for v in values), 1),
            "paragraphs_per_s_cpu": round(statistics.median(v["texts"] / v["cpu_s"] for v in values)),
            "ratio_to_floor_cpu": round(statistics.median(ratios(values, "cpu_s")), 3),
            "ratio_to_floor_cpu_rounds": [round(r, 3) for r in ratios(values, "cpu_s")],
            "ratio_to_floor_wall": round(statistics.median(ratios(values, "wall_s")), 3),
        }
    return {"paragraphs": len(texts), "chars": chars, "single_sample": len(few), "rounds": rounds, "measures": measures}


# --------------------------------------------------------------------------------------------
# servers on loopback under wrk

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the server at {url} was not ready after {timeout} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def memory_mb(pid: int) -> dict:
    """Peak and current RSS, and what the RSS is made of: private memory (anonymous) and mapped
    files (the MeCab dictionary, which every tagger maps and the page cache shares), and PSS."""
    fields = {}
    try:
        for name in ("status", "smaps_rollup"):
            for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "Pss"):
                    fields[key] = round(int(value.split()[0]) / 1024, 1)
    except OSError:
        pass
    return {"peak_rss_mb": fields.get("VmHWM"), "rss_mb": fields.get("VmRSS"), "anon_mb": fields.get("RssAnon"),
            "file_mb": fields.get("RssFile"), "pss_mb": fields.get("Pss")}


def wrk(url: str, bodies: Path, connections: int, duration: float) -> dict:
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration:g}s", "--timeout", "10s",
               "-s", str(LUA), url, "--", str(bodies)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"{command_line(command)} failed:\n{result.stdout}\n{result.stderr}")
    data = json.loads(lines[-1])
    return {"command": command_line(command).replace(url, "http://127.0.0.1:PORT"), "requests": data["requests"],
            "requests_per_s": round(data["requests"] / (data["duration_us"] / 1e6), 1), "p50_ms": data["p50_us"] / 1e3,
            "p95_ms": data["p95_us"] / 1e3, "p99_ms": data["p99_us"] / 1e3, "max_ms": data["max_us"] / 1e3,
            "errors": sum(data["errors"].values()), "error_kinds": data["errors"]}


def serve_and_load(kind: str, model: Path, work: Path, bodies: dict, duration: float, options: tuple = ()) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = work / f"server-{kind}-{port}.log"
    if kind == "ours":
        command = [sys.executable, "-m", "classifier", "serve", "--host", "127.0.0.1", "--port", str(port),
                   "--model", str(model), "--feedback", str(work / "feedback.sqlite3"), *options]
    else:
        command = [sys.executable, str(BENCH / "baseline.py"), "serve", "--model", str(model), "--port", str(port)]
    with open(log, "w") as output:
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_ready(url, process, log)
        wrk(url, bodies["single"], 8, 3)  # warm-up: every worker builds its tagger, caches fill
        out = {"command": command_line(command).replace(str(model), "MODEL").replace(str(port), "PORT"),
               "c1_single": wrk(url, bodies["single"], 1, duration),
               "c8_single": wrk(url, bodies["single"], 8, duration),
               "c8_batch64": wrk(url, bodies["batch"], 8, duration)}
        out["c8_batch64"]["paragraphs_per_s"] = round(out["c8_batch64"]["requests_per_s"] * SERVER_BATCH, 1)
        # gunicorn's workers are the children of its master; Flask's server is one process
        workers = children(process.pid) if kind == "ours" else [process.pid]
        out["workers"] = [{"pid": pid, **memory_mb(pid)} for pid in workers]
        return out
    finally:
        stop(process)


def write_bodies(paragraphs: list[str], work: Path) -> dict:
    usable = [p for p in paragraphs if len(p) <= 5000]
    shuffled = usable[:]
    random.Random(1).shuffle(shuffled)
    paths = {"single": work / "bodies-single.txt", "batch": work / "bodies-batch64.txt"}
    paths["single"].write_text("".join(json.dumps({"text": p}, ensure_ascii=False) + "\n" for p in sample(usable, 1000)),
                               encoding="utf-8")
    batches = [shuffled[i:i + SERVER_BATCH] for i in range(0, len(shuffled) - SERVER_BATCH + 1, SERVER_BATCH)][:100]
    paths["batch"].write_text("".join(json.dumps({"texts": b}, ensure_ascii=False) + "\n" for b in batches), encoding="utf-8")
    return paths


def median_server(rounds: list[dict]) -> dict:
    out = {"rounds": len(rounds), "command": rounds[0]["command"]}
    for test in SERVER_TESTS:
        out[test] = {key: round(statistics.median(r[test][key] for r in rounds), 3)
                     for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms", "requests_per_s")}
        out[test].update({"errors": sum(r[test]["errors"] for r in rounds), "requests": sum(r[test]["requests"] for r in rounds),
                          "command": rounds[0][test]["command"], "p99_ms_best_round": min(r[test]["p99_ms"] for r in rounds),
                          "per_round": [{k: r[test][k] for k in ("p50_ms", "p99_ms", "requests_per_s", "errors")}
                                        for r in rounds]})
    out["c8_batch64"]["paragraphs_per_s"] = round(statistics.median(r["c8_batch64"]["paragraphs_per_s"] for r in rounds), 1)
    out["workers"] = len(rounds[0]["workers"])
    heaviest = max((w for r in rounds for w in r["workers"]), key=lambda w: w["peak_rss_mb"] or 0)
    out["peak_rss_mb_per_worker"] = heaviest["peak_rss_mb"] or 0
    out.update({key: heaviest.get(key) or 0 for key in ("anon_mb", "file_mb", "pss_mb")})
    return out


def servers(paragraphs: list[str], work: Path, rounds: int, duration: float, variant: bool) -> dict:
    bodies = write_bodies(paragraphs, work)
    # ours as configured by default, the peer, and ours with four threads a worker: the variant
    # shows why one thread is the default (MeCab holds the GIL while it parses)
    variants = {"ours": ("ours", work / "ours-x1", ()),
                "ours, --threads 4": ("ours", work / "ours-x1", ("--threads", "4")),
                "baseline": ("baseline", work / "baseline-x1.joblib", ())}
    if not variant:
        del variants["ours, --threads 4"]
    runs = {name: [] for name in variants}
    # every server in turn, round after round, so that a busy spell on the machine hits them all
    for number in range(rounds):
        for name, (kind, model, options) in variants.items():
            say(f"server round {number + 1}/{rounds}: {name}")
            runs[name].append(serve_and_load(kind, model, work, bodies, duration, options))
    return {name: median_server(r) for name, r in runs.items()}


# --------------------------------------------------------------------------------------------
# targets and the report

def targets(results: dict) -> list[dict]:
    rows = []

    def add(name, value, met):
        rows.append({"target": name, "measured": value, "met": bool(met)})

    for scale, data in results["in_process"].items():
        measure = data["measures"][BATCHES_MEASURE]
        ratio, rounds = measure["ratio_to_floor_cpu"], measure["ratio_to_floor_cpu_rounds"]
        cli = data["measures"][CLI_CHUNK_MEASURE]["ratio_to_floor_cpu"]
        add(f"in-process suggest on batches >= 0.8x raw fugashi ({scale}, batches of {BATCH}: the library call; the "
            "CLI's chunk, JSON Lines in and out, beside it)",
            f"{ratio:.2f}x (rounds {min(rounds):.2f}-{max(rounds):.2f}); the CLI's chunk {cli:.2f}x", ratio >= 0.8)
    training = results["training"]["ours"]
    first = training[0]
    add("bundled corpus trains in under 15 s", f"{first['wall_s']:.1f} s wall ({first['cpu_s']:.1f} s CPU)",
        first["wall_s"] < 15)
    steps = results["training"]["exponent_cpu_steps"]
    if steps:
        # judged on the largest step, where fixed costs no longer hide the growth
        add("training linear in corpus size (the same tags at every scale)", "CPU time ~ size^b, b = " + " then ".join(
            f"{b} ({a['scale']}->{c['scale']})" for b, a, c in zip(steps, training, training[1:]))
            + "; CPU per example " + " / ".join(f"{t['cpu_s'] / t['n_examples'] * 1000:.1f}" for t in training) + " ms",
            steps[-1] <= 1.15)
    memory_mb = (results["machine"]["memory_gib"] or 0) * 1024
    large = results["training"].get("large")
    if large:
        add(f"a corpus of {TRAIN_TARGET_BLOCKS:,} blocks trains within this machine's memory (measured: the corpus "
            f"x{large['scale'][1:]}, the same tags)",
            f"{large['blocks']:,} blocks, {large['n_tags']} tags: {large['wall_s'] / 60:.1f} min, peak RSS "
            f"{large['peak_rss_mb_all']:,.0f} MB over its {large['processes']} processes (the command alone "
            f"{large['peak_rss_mb']:,.0f} MB); {memory_mb:,.0f} MB installed",
            large["blocks"] >= TRAIN_TARGET_BLOCKS and large["peak_rss_mb_all"] < memory_mb)
    extrapolated = results["training"].get("extrapolated")
    if extrapolated:
        add(f"a corpus of {extrapolated['blocks']:,} blocks trains within this machine's memory (default --min-count, "
            f"the label set growing with the copies; extrapolated from {' and '.join(extrapolated['from'])})",
            f"about {extrapolated['peak_rss_mb']:,} MB peak and {extrapolated['wall_s'] / 60:.0f} min "
            f"(time ~ size^{extrapolated['exponent_wall']}); {memory_mb:,.0f} MB installed",
            extrapolated["peak_rss_mb"] < memory_mb)
    batch_results = results.get("batch")
    if batch_results:
        import batch

        measures = batch_results["throughput"]["measures"]
        cores = results["machine"]["cores_usable"]
        ours = measures["suggest (default flags)"]
        need = 0.75 * cores
        add(f"suggest, default flags, on {batch_results['throughput']['paragraphs']:,} paragraphs >= 0.75 x cores x raw "
            f"fugashi ({need:.2f}x on {cores} cores), whole commands, same output as one process",
            f"{ours['ratio_to_raw']:.3f}x (rounds {', '.join(map(str, ours['ratio_to_raw_rounds']))}; "
            f"--jobs 1: {measures['suggest --jobs 1']['ratio_to_raw']:.3f}x); identical output: "
            f"{'yes' if batch_results['throughput']['identical_output'] else 'NO'}",
            ours["ratio_to_raw"] >= need and batch_results["throughput"]["identical_output"])
        # What any split over the cores can reach: the one-process command's speed times the cores
        # (start-up left out, so a bound from above). The stage breakdown says where that time goes.
        one = measures["suggest --jobs 1"]["ratio_to_raw"]
        add(f"(what bounds the line above) a perfect split of the one-process command over {cores} cores: "
            f"{cores} x its ratio to raw fugashi", f"{cores} x {one:.3f} = {cores * one:.3f}x", cores * one >= need)
        memory = list(batch_results["memory"].values())
        growth = memory[-1]["peak_rss_mb_all"] / memory[0]["peak_rss_mb_all"]
        add("peak RSS of all processes flat as the input grows (1x and 10x within 10%)",
            " vs ".join(f"{m['peak_rss_mb_all']:.0f} MB ({m['paragraphs']:,} paragraphs, {m['processes']} processes)"
                        for m in memory) + f": {growth:.2f}x", growth <= 1.10)
        startup = batch_results["startup"]["median_s"]
        floor = startup[batch.SCORING_IMPORTS]
        add("suggest on ten lines under 1.0 s, whole process", f"{startup['suggest, ten lines']:.2f} s (median); "
            f"the imports scoring needs take {floor:.2f} s alone, scikit-learn's "
            f"{startup['import sklearn.base (what scoring no longer imports)']:.2f} s", startup["suggest, ten lines"] < 1.0)
        if batch_results.get("evaluate"):
            e = batch_results["evaluate"]
            add(f"evaluate on a large corpus ({e['examples']:,} examples): default flags no slower than --jobs 1 "
                f"(workers from {e['parallel_from']:,} texts)",
                f"{e['default_s']:.1f} s default vs {e['jobs1_s']:.1f} s --jobs 1 ({e['speed_up']:.2f}x)", e["speed_up"] >= 0.95)
        a = batch_results.get("annotate")
        if a:
            growth = a["memory"][list(a["memory"])[-1]]["peak_rss_mb_all"] / a["memory"]["1x"]["peak_rss_mb_all"]
            add(f"annotate --jsonl on many drafts ({a['drafts']:,}, {a['mb']} MB): every core by default, same output, "
                "memory flat (1x and 10x within 10%)",
                f"{a['default_s']:.1f} s default vs {a['jobs1_s']:.1f} s --jobs 1 ({a['speed_up']:.2f}x); identical: "
                f"{'yes' if a['identical_output'] else 'NO'}; peak RSS " + " vs ".join(
                    f"{m['peak_rss_mb_all']:.0f} MB ({m['drafts']:,} drafts)" for m in a["memory"].values())
                + f": {growth:.2f}x", a["speed_up"] >= 1.2 and a["identical_output"] and growth <= 1.10)
        dask = batch_results["dask"]
        if "skipped" not in dask:
            add("the same output on a local Dask cluster of two workers",
                f"{dask['cluster_s']:.1f} s ({dask['ratio_to_raw']:.2f}x raw fugashi) vs {dask['default_s']:.1f} s "
                f"default; identical: {'yes' if dask['identical_output'] else 'NO'}", dask["identical_output"])
    if results.get("servers"):
        ours, base = results["servers"]["ours"], results["servers"]["baseline"]
        c1 = ours["c1_single"]
        add("server p50 <= 1.5 ms at concurrency 1", f"{c1['p50_ms']:.2f} ms", c1["p50_ms"] <= 1.5)
        add("server p99 <= 5 ms at concurrency 1",
            f"{c1['p99_ms']:.2f} ms (median of rounds; best round {c1['p99_ms_best_round']:.2f} ms)", c1["p99_ms"] <= 5)
        ratio = ours["c8_single"]["requests_per_s"] / base["c8_single"]["requests_per_s"]
        add(">= 2x the baseline's requests/s at concurrency 8",
            f"{ours['c8_single']['requests_per_s']:.0f} vs {base['c8_single']['requests_per_s']:.0f} req/s = {ratio:.2f}x",
            ratio >= 2)
        batch = ours["c8_batch64"]["paragraphs_per_s"]
        add(">= 3,000 paragraphs/s in batches of 64", f"{batch:.0f} paragraphs/s", batch >= 3000)
        errors = sum(ours[t]["errors"] for t in SERVER_TESTS)
        add("no errors", f"{errors} errors in {sum(ours[t]['requests'] for t in SERVER_TESTS)} requests", errors == 0)
        add("< 200 MB RSS per worker", f"{ours['peak_rss_mb_per_worker']:.0f} MB peak", ours["peak_rss_mb_per_worker"] < 200)
    return rows


def markdown(results: dict, json_name: str | None) -> str:
    m, settings = results["machine"], results["settings"]
    lines = [
        "# Benchmark results", "",
        f"Produced by `{results['command']}` on {results['started']} (took {results['seconds'] / 60:.1f} min), "
        f"commit {m['git_commit']}. Regenerate with `bash bench/run.sh`"
        + (f"; the raw figures are in `{json_name}`." if json_name else " (`--json` also writes the raw figures)."),
        "", "## Machine", "",
        f"- CPU: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable), {m['memory_gib']} GiB; {m['os']}",
        f"- load average at start {m['load_average_at_start']}, at end {results['load_average_at_end']} "
        "(the machine is shared: other jobs ran during the benchmark)",
        "- " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()), "",
        "Every comparison is made within this run: measures are repeated and interleaved, medians are quoted, and",
        "in-process rates use the process's CPU time (what the code costs; wall-clock rates are in the JSON).",
        "The load generator (wrk) runs on the same cores as the servers.", "",
        "## Targets", "", "| target | measured | met |", "|---|---|---|",
        *[f"| {row['target']} | {row['measured']} | {'yes' if row['met'] else '**no**'} |" for row in results["targets"]],
        "", "## In-process throughput", "",
        f"Paragraphs of the corpus (`{settings['data']}`) and of its synthetic scale-ups (see `scale_up` in "
        f"`bench/run.py`); each model trained on its own scale. One-paragraph calls use an even sample of "
        f"{settings['singles']} paragraphs. Code: `in_process()` in `bench/run.py` (the calls `python -m classifier "
        f"suggest` makes). Measures over the whole corpus are taken chunk by chunk ({CHUNK:,} paragraphs): every "
        "measure in turn on a chunk, in an order turned by one each time, so that the floor and what is compared with "
        "it run a second or two apart. A round's ratio is that of its summed CPU times; the table gives the median of "
        f"{settings['rounds']} rounds (every round's ratio is in the JSON).", "",
        "| scale | paragraphs | measure | chars/s (CPU) | µs/paragraph | ratio to floor |", "|---|---|---|---|---|---|",
    ]
    for scale, data in results["in_process"].items():
        for name, v in data["measures"].items():
            lines.append(f"| {scale} | {data['paragraphs']} | {name} | {v['chars_per_s_cpu']:,} | "
                         f"{v['us_per_paragraph_cpu']} | {v['ratio_to_floor_cpu']:.2f}x |")
    lines += ["", "## Training", "", "Each command in its own process: wall and CPU time, peak RSS (`ru_maxrss`), artifact size.",
              "", "| who | scale | examples (trained on) | tags learned | wall s | CPU s | fit s | peak RSS MB | model MB | command |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    training = results["training"]
    for who, name in {"ours": "ours", "ours_default_min_count": "ours, default --min-count", "baseline": "baseline"}.items():
        for t in training[who]:
            lines.append(f"| {name} | {t['scale']} | {t['n_examples']} ({t['n_train']}) | {t.get('n_tags', '')} | "
                         f"{t['wall_s']} | {t['cpu_s']} | {t['fit_s']} | {t['peak_rss_mb']} | {t['model_mb']} | `{t['command']}` |")
    if training["exponent_cpu"] is not None:
        lines += ["", f"`ours` keeps the same tags at every scale (`--min-count` {MIN_COUNT} per copy of the corpus): a copy "
                  f"of the corpus copies its rare tags, which would then cross the default `--min-count` of {MIN_COUNT} and "
                  f"join the label set. Growth exponent b of its training CPU time (time ~ size^b; 1 = linear): "
                  f"{training['exponent_cpu']} over all scales, {' then '.join(map(str, training['exponent_cpu_steps']))} "
                  f"from one scale to the next; fit time alone {training['exponent_fit']}. "
                  f"Baseline: {training['exponent_cpu_baseline']}.", "",
                  f"With the default `--min-count` the label set grows with the copies, and so does the work: b = "
                  f"{training['exponent_cpu_default_min_count']} against size, "
                  f"{training['exponent_cpu_default_min_count_per_tag']} against size x tags learned."]
    extrapolated = training.get("extrapolated")
    if extrapolated:
        lines += ["", f"Extrapolated to {extrapolated['blocks']:,} blocks (default `--min-count`, from the "
                  f"{' and '.join(extrapolated['from'])} runs; not measured): about {extrapolated['wall_s'] / 60:.0f} min "
                  f"(time ~ size^{extrapolated['exponent_wall']} between those two runs) and {extrapolated['peak_rss_mb']:,} MB "
                  f"peak RSS ({extrapolated['rss_mb_per_1000_blocks']} MB per 1,000 blocks)."]
    large = training.get("large")
    if large:
        lines += ["", f"Measured at x{large['scale'][1:]} ({large['blocks']:,} blocks, the same {large['n_tags']} tags as "
                  f"`ours` above), `{large['command']}`: {large['wall_s'] / 60:.1f} min wall, peak RSS "
                  f"{large['peak_rss_mb_all']:,.0f} MB summed over its {large['processes']} processes (the command "
                  f"{large['peak_rss_mb']:,.0f} MB, the rest its fitting processes, polled every 50 ms); held-out "
                  f"top-1 {large['held_out']['top1_accuracy']}, macro-F1 {large['held_out']['macro_f1']}."]
    if results.get("batch"):
        lines += batch_markdown(results["batch"], m)
    lines += ["", "## Server on loopback", ""]
    if not results.get("servers"):
        lines.append(f"Not measured: {results.get('servers_skipped')}")
    else:
        servers = results["servers"]
        names = list(servers)
        lines += [f"{servers['ours']['rounds']} rounds, every server in turn, {settings['duration']:g} s per test; "
                  "medians over rounds, errors summed. One paragraph a request: real paragraphs of the corpus, in turn; "
                  f"batches: {SERVER_BATCH} paragraphs a request. The targets are judged on `ours` as configured by default.",
                  "", "| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        cells = {
            "server": lambda s: f"`{s['command']}` ({s['workers']} worker{'s' if s['workers'] > 1 else ''})",
            "c=1 p50 / p95 / p99 ms": lambda s: " / ".join(f"{s['c1_single'][k]:.2f}" for k in ("p50_ms", "p95_ms", "p99_ms")),
            "c=1 p99 ms of each round (the tail follows the other jobs on the machine)":
                lambda s: " / ".join(f"{r['p99_ms']:.1f}" for r in s["c1_single"]["per_round"]),
            "c=1 requests/s": lambda s: f"{s['c1_single']['requests_per_s']:.0f}",
            "c=8 requests/s (p50 / p99 ms)":
                lambda s: f"{s['c8_single']['requests_per_s']:.0f} ({s['c8_single']['p50_ms']:.1f} / {s['c8_single']['p99_ms']:.1f})",
            f"c=8 batches of {SERVER_BATCH}: paragraphs/s (p50 / p99 ms)":
                lambda s: f"{s['c8_batch64']['paragraphs_per_s']:.0f} ({s['c8_batch64']['p50_ms']:.1f} / {s['c8_batch64']['p99_ms']:.1f})",
            "errors (all tests)": lambda s: str(sum(s[t]["errors"] for t in SERVER_TESTS)),
            "peak RSS per worker MB": lambda s: f"{s['peak_rss_mb_per_worker']:.0f}",
            "of which private / mapped files (libraries, dictionary) MB; PSS MB":
                lambda s: f"{s['anon_mb']:.0f} / {s['file_mb']:.0f}; {s['pss_mb']:.0f}",
        }
        for label, cell in cells.items():
            lines.append(f"| {label} | " + " | ".join(cell(servers[n]) for n in names) + " |")
        lines += ["", "Load commands (PORT: the server's; the bodies files are written by the run):", ""]
        lines += [f"- `{servers['ours'][test]['command']}`" for test in SERVER_TESTS]
    lines.append("")
    return "\n".join(lines)


def batch_markdown(b: dict, machine_info: dict) -> list[str]:
    t = b["throughput"]
    lines = ["", "## Batch: whole commands on an archive", "",
             f"`{b['archive_command']}` writes {t['paragraphs']:,} paragraphs of the corpus, shuffled, as JSON Lines "
             f"({t['mb']} MB). Each command is a whole process as a user runs it (start-up included), output to a file; "
             f"{t['rounds']} rounds, the commands in an order turned by one each round; wall-clock medians, and each ratio "
             f"taken within its round. {machine_info['cores_usable']} cores, shared with other jobs. Code: `bench/batch.py`.",
             "", "| command | wall s (median) | paragraphs/s | ratio to raw fugashi (rounds) | peak RSS, all processes MB |"
             " processes |", "|---|---|---|---|---|---|"]
    for name, v in t["measures"].items():
        lines.append(f"| {name}: `{v['command']}` | {v['wall_s']} | {v['paragraphs_per_s']:,} | {v['ratio_to_raw']:.3f}x "
                     f"({', '.join(map(str, v['ratio_to_raw_rounds']))}) | {v['peak_rss_mb_all']:.0f} | {v['processes']} |")
    lines += ["", f"Output of the default run and of `--jobs 1`: {'identical, byte for byte' if t['identical_output'] else 'DIFFERENT'}."]
    st = b.get("stages")
    if st:
        us = st["us_per_paragraph"]
        ours = us["whole chunk"]
        lines += ["", f"Where a paragraph's time goes in one process (`{st['command']}`: the first {st['paragraphs']:,} "
                  f"paragraphs of the archive, chunks of {st['chunk']:,} as the command reads them, each stage timed on "
                  f"its own, CPU time, median of {st['rounds']} rounds; raw fugashi over the same lines in each round):",
                  "", "| stage | µs/paragraph | share of ours |", "|---|---|---|"]
        lines += [f"| {name} | {value:.2f} | {value / ours:.0%} |" for name, value in us.items()
                  if name not in ("raw fugashi", "whole chunk") and not name.startswith("whole chunk of")]
        lines += [f"| **ours, the whole chunk** (`suggest_lines`) | {ours:.2f} | 100% |",
                  f"| raw fugashi (`json.loads` and `Tagger('-Owakati').parse`) | {us['raw fugashi']:.2f} | |",
                  "", f"In this measure ours runs at {st['ratio_to_raw']:.2f}x raw fugashi (rounds "
                  f"{', '.join(map(str, st['ratio_to_raw_rounds']))}): chunks in memory, without start-up, reading or "
                  "writing, so above the whole `--jobs 1` command's ratio in the table before. MeCab's share is the "
                  "floor; what is left to gain is in the other stages."]
        sizes = {int(name.rsplit(" ", 1)[1]): value for name, value in us.items() if name.startswith("whole chunk of")}
        if sizes:
            sizes[st["chunk"]] = ours
            lines += ["", "The whole chunk at other sizes, in the same rounds (µs/paragraph): " + ", ".join(
                f"{size:,} lines {value:.2f}" + (" (the command's)" if size == st["chunk"] else "")
                for size, value in sorted(sizes.items())) + "."]
    lines += ["", "Memory (one default run each; peak RSS of each process of the run, summed: the command and its workers):",
              "", "| input | paragraphs | MB | wall s | peak RSS of the command MB | all processes MB | processes |",
              "|---|---|---|---|---|---|---|"]
    for label, v in b["memory"].items():
        lines.append(f"| {label} | {v['paragraphs']:,} | {v['mb']} | {v['wall_s']:.1f} | {v['peak_rss_mb_parent']:.0f} | "
                     f"{v['peak_rss_mb_all']:.0f} | {v['processes']} |")
    s = b["startup"]
    lines += ["", f"Start-up (whole processes, median of {s['rounds']}):", "", "| process | s |", "|---|---|"]
    lines += [f"| {name} | {v:.2f} |" for name, v in s["median_s"].items()]
    lines += ["", "Cumulative import times of `suggest` on ten lines (`python -X importtime`, s): "
              + ", ".join(f"{k} {v}" for k, v in s["importtime_cumulative_s"].items())
              + f"; not imported: {', '.join(s['not_imported'])}.",
              "", "Where worker processes pay (`--jobs 1` against `--jobs 2`, median of 3, alternated):", "",
              "| paragraphs | MB | --jobs 1 s | --jobs 2 s | speed-up |", "|---|---|---|---|---|"]
    lines += [f"| {r['paragraphs']:,} | {r['mb']} | {r['jobs1_s']} | {r['jobs2_s']} | {r['speed_up']}x |" for r in b["break_even"]]
    if b.get("evaluate"):
        e = b["evaluate"]
        lines += ["", f"`evaluate` on {e['examples']:,} labelled examples (the largest training scale-up), "
                  f"`{e['command']}`: {e['default_s']} s with default flags, {e['jobs1_s']} s with `--jobs 1` "
                  f"({e['speed_up']}x)."]
    a = b.get("annotate")
    if a:
        lines += ["", f"`annotate --jsonl` on {a['drafts']:,} drafts ({a['mb']} MB; `{a['drafts_command']}`: the corpus's "
                  f"posts without their tag lines), `{a['command']}`: {a['default_s']} s with default flags (workers from "
                  f"{a['parallel_from_mb']:g} MB), {a['jobs1_s']} s with `--jobs 1` ({a['speed_up']}x, median of "
                  f"{a['rounds']}, alternated; {a['drafts_per_s']} drafts/s); output "
                  f"{'identical' if a['identical_output'] else 'DIFFERENT'}. Peak RSS of all processes: "
                  + ", ".join(f"{m['peak_rss_mb_all']:.0f} MB at {label} ({m['drafts']:,} drafts)"
                              for label, m in a["memory"].items()) + ".",
                  "", "Where worker processes pay for `annotate --jsonl` (`--jobs 1` against `--jobs 2`, median of "
                  f"{a['rounds']}, alternated):", "", "| drafts | MB | --jobs 1 s | --jobs 2 s | speed-up |",
                  "|---|---|---|---|---|"]
        lines += [f"| {r['drafts']:,} | {r['mb']} | {r['jobs1_s']} | {r['jobs2_s']} | {r['speed_up']}x |"
                  for r in a["break_even"]]
    d = b["dask"]
    if "skipped" in d:
        lines += ["", f"Dask: not measured ({d['skipped']})."]
    else:
        lines += ["", f"On {d['cluster']}: `{d['command']}` {d['cluster_s']} s against {d['default_s']} s with default "
                  f"flags and {d['raw_s']} s raw fugashi ({d['ratio_to_raw']}x raw; median of {d['rounds']}); output "
                  f"{'identical' if d['identical_output'] else 'DIFFERENT'}."]
    return lines


# --------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description="Benchmark the hashtag service against its floor and the textbook peer.")
    parser.add_argument("--scales", default="1,4,10,16", help="corpus scale-ups (default %(default)s)")
    parser.add_argument("--data", default="training_data", help="the corpus, relative to the project (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=7, help="in-process repetitions (default %(default)s)")
    parser.add_argument("--singles", type=int, default=1000, help="paragraphs for one-a-call measures (default %(default)s)")
    parser.add_argument("--server-rounds", type=int, default=3, help="server rounds, every server in turn (default %(default)s)")
    parser.add_argument("--duration", type=float, default=6, help="seconds per load test (default %(default)s)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: x1 only, short tests, one round")
    parser.add_argument("--no-variant", action="store_true", help="skip the server variant with four threads a worker")
    parser.add_argument("--out", default=str(BENCH), help="folder for RESULTS.md (default bench/)")
    parser.add_argument("--json", action="store_true", help="also write results.json (always when --out is not bench/)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (models, logs)")
    parser.add_argument("--batch-lines", type=int, default=210_000,
                        help="paragraphs of the archive for the batch measures (default %(default)s)")
    parser.add_argument("--batch-rounds", type=int, default=3, help="rounds of whole batch commands (default %(default)s)")
    parser.add_argument("--memory-factor", type=int, default=10, help="the large archive for the memory check, "
                                                                       "times --batch-lines (default %(default)s)")
    parser.add_argument("--no-batch", action="store_true", help="skip the batch measures (bench/batch.py)")
    parser.add_argument("--large-training", type=int, default=0, metavar="SCALE",
                        help="also train once on the corpus scaled up SCALE times, the same tags (80: about "
                             "100,000 blocks; off by default)")
    args = parser.parse_args(argv)
    if args.quick:
        args.scales, args.rounds, args.server_rounds, args.duration, args.singles = "1", 1, 1, 3, 200
        args.batch_lines, args.batch_rounds, args.memory_factor = 20_000, 1, 2
    scales = [int(s) for s in args.scales.split(",")]
    out = Path(args.out).resolve()
    write_json = args.json or out != BENCH
    started = time.time()
    work = Path(tempfile.mkdtemp(prefix="hashtag-bench-"))
    results = {"command": " ".join(["bash bench/run.sh", *map(shlex.quote, argv)]),
               "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
               "settings": {"data": args.data, "scales": scales, "rounds": args.rounds, "singles": args.singles,
                            "server_rounds": args.server_rounds, "duration": args.duration, "batch": BATCH,
                            "request_batch": REQUEST_BATCH}}
    say(f"work folder {work}; machine {results['machine']['cpu']}, load {results['machine']['load_average_at_start']}")
    try:
        examples = load_corpus([ROOT / args.data])
        say(f"corpus: {len(examples)} examples, {len(paragraphs_of(examples))} paragraphs")
        corpora = {}
        for scale in scales:
            scaled = scale_up(examples, scale)
            path = work / f"corpus-x{scale}.jsonl"
            write_jsonl(scaled, path)
            # x1 trains from the corpus itself: the command a user runs
            corpora[scale] = {"data": args.data if scale == 1 else str(path), "examples": scaled}

        say("training (ours and baseline) at every scale")
        results["training"] = training_at(scales, corpora, work)
        if args.large_training:
            say(f"training at x{args.large_training} (--large-training; about half an hour at x80)")
            results["training"]["large"] = large_training(examples, args.large_training, work)

        if not args.no_batch:
            import batch

            biggest = max(scales)
            results["batch"] = batch.measure(work / f"ours-x{scales[0]}", work / f"baseline-x{scales[0]}.joblib", work,
                                             args.batch_lines, args.batch_rounds, args.memory_factor,
                                             Path(corpora[biggest]["data"]) if biggest > 1 else None,
                                             len(corpora[biggest]["examples"]))

        import joblib

        results["in_process"] = {}
        for scale in scales:
            say(f"in-process throughput at x{scale}")
            ours = load_model(work / f"ours-x{scale}")[0]
            base = joblib.load(work / f"baseline-x{scale}.joblib")
            texts = paragraphs_of(corpora[scale]["examples"])
            results["in_process"][f"x{scale}"] = in_process(texts, ours, base, args.rounds, args.singles)
            del ours, base
            gc.collect()

        if 1 not in scales:
            results["servers_skipped"] = "the servers serve the x1 models: add 1 to --scales"
        elif not shutil.which("wrk"):
            results["servers_skipped"] = "wrk is not installed (apt-get install wrk; bash bench/run.sh does it)"
        else:
            results["servers"] = servers(paragraphs_of(examples), work, args.server_rounds, args.duration,
                                         not args.no_variant)
        if results.get("servers_skipped"):
            say(results["servers_skipped"])
        results["targets"] = targets(results)
    finally:
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["seconds"] = round(time.time() - started, 1)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "results.json"
    shown = str(json_path.relative_to(ROOT)) if json_path.is_relative_to(ROOT) else str(json_path)
    if write_json:
        json_path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "RESULTS.md").write_text(markdown(results, shown if write_json else None), encoding="utf-8")
    say(f"wrote {out / 'RESULTS.md'}" + (f" and {json_path}" if write_json else "")
        + f" in {results['seconds'] / 60:.1f} min")
    for row in results["targets"]:
        say(f"  {'met   ' if row['met'] else 'MISSED'} {row['target']}: {row['measured']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
