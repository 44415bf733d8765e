"""Load test of the production server on loopback: mixed suggest, batch and feedback requests.

    python scripts/loadtest.py                       # 10,000 requests at concurrency 16
    python scripts/loadtest.py --requests 1000 --concurrency 8 --model models/default

It starts the production server (``python -m classifier serve``: gunicorn, threaded workers) on
127.0.0.1 with a fresh feedback database, sends the requests from ``--concurrency`` threads over
keep-alive connections, stops the server and checks:

- no 5xx answer and no connection error;
- every feedback answered 201 is stored exactly once in the feedback database (SQLite, which
  passes its integrity check), and nothing is stored that was not answered 201.

It prints a JSON summary (counts, throughput, latency percentiles per kind of request) and exits
1 if a check fails. Traffic goes to 127.0.0.1 only, bounded by ``--requests`` and ``--deadline``.
``--url`` aims it at a server that is already running instead; the feedback checks then need
``--feedback`` (that server's feedback database). The test suite runs a smaller version of it
(tests/test_loadtest.py).
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PARAGRAPHS = [
    "日銀の植田総裁は会見で、物価と賃金の動向次第で追加利上げを検討すると述べた。",
    "FRBのパウエル議長は、インフレの鈍化を確かめるまで利下げを急がない考えを示した。",
    "ロシア軍の無人機が東部の火力発電所を攻撃し、州内の広い範囲で停電が起きた。",
    "NATOは首脳会議で加盟国の防衛費目標を国内総生産の2%以上とすることを再確認した。",
    "ハマスが人質の一部を解放し、ガザへの支援物資の搬入が再開された。",
    "中国軍が台湾周辺で大規模な演習を行い、台湾の国防部は警戒を強めている。",
    "北朝鮮が日本海に向けて弾道ミサイルを発射したと防衛省が発表した。",
    "ウクライナとロシアの間で捕虜の交換が行われ、双方の兵士が帰還した。",
    "パスタを茹でてソースと和えます。仕上げにチーズをかけます。",
    "関東地方は週末にかけて大雨となる見込みで、気象庁が注意を呼びかけている。",
    "— NHKニュース (@nhk_news) January 3, 2024",
    "ウクライナ首都にミサイル https://t.co/abcdef #nhk_news",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    feedback: Path
    log: Path


@contextlib.contextmanager
def production_server(model_dir, feedback, workers=2, threads=4, ready_timeout=120):
    """``python -m classifier serve`` on a free loopback port; yields a Server, stops it after.

    It waits for ``/readyz`` and fails with its reason if the model is not usable (a load run
    against a service that answers 503 would measure nothing). The server's output goes to a log
    file beside the feedback file (``Server.log``). The test suite has its own starter with more
    options (tests/support/server.py); this script imports nothing from the tests.
    """
    port = free_port()
    feedback = Path(feedback)
    log = feedback.with_name(feedback.name + f".server-{port}.log")
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "classifier", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--model", str(model_dir), "--feedback", str(feedback), "--workers", str(workers),
             "--threads", str(threads)],
            cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, feedback, log)
    try:
        wait_until_ready(server, ready_timeout)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def wait_until_ready(server: Server, timeout: float) -> None:
    """Until /healthz answers, then /readyz must: a server without a usable model is alive but
    not ready, and the run stops with its reason."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.process.kill()
            raise RuntimeError(f"the server did not start:\n{server.log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.2)
    try:
        with urllib.request.urlopen(f"{server.url}/readyz", timeout=30):
            return
    except urllib.error.HTTPError as error:
        with error:
            reason = json.loads(error.read() or b"{}").get("reason", error.reason)
        raise RuntimeError(f"the server is up but not ready: {reason}") from None


# --------------------------------------------------------------------------------------------
# the load

@dataclass
class Outcome:
    kind: str
    status: int | None  # None: a connection error
    seconds: float
    marker: str | None = None
    error: str | None = None


@dataclass
class Plan:
    """What each request sends: a kind and a JSON body, drawn from a seeded generator."""
    seed: int
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    def request(self, number: int) -> tuple[str, str, dict, str | None]:
        rng = random.Random(self.seed * 1_000_003 + number)
        draw = rng.random()
        if draw < 0.6:
            text = "\n".join(rng.sample(PARAGRAPHS, rng.randint(1, 3)))
            return "suggest", "/suggest", {"text": text, "explain": rng.random() < 0.2}, None
        if draw < 0.8:
            texts = [rng.choice(PARAGRAPHS) for _ in range(rng.randint(2, 32))]
            return "batch", "/suggest", {"texts": texts, "k": rng.randint(1, 5), "threshold": rng.choice([None, 0, 0.3])}, None
        marker = f"loadtest-{self.run}-{number}"
        text = f"{rng.choice(PARAGRAPHS)} ({marker})" + "追記" * rng.randint(0, 400)
        return "feedback", "/feedback", {"text": text, "tags": [rng.choice(["#日銀", "#FRB", "#NATO", "#新タグ"])]}, marker


def run_load(url: str, requests: int, concurrency: int, seed: int = 0, deadline: float = 600.0,
             timeout: float = 60.0) -> tuple[list[Outcome], float, Plan]:
    """Send ``requests`` requests from ``concurrency`` threads; stop early at ``deadline`` seconds."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to send load to {parsed.hostname}: loopback only")
    plan = Plan(seed)
    counter = iter(range(requests))
    lock = threading.Lock()
    outcomes: list[Outcome] = []
    stop_at = time.monotonic() + deadline

    def worker():
        connection = None
        mine = []
        while time.monotonic() < stop_at:
            with lock:
                number = next(counter, None)
            if number is None:
                break
            kind, path, body, marker = plan.request(number)
            payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
            started = time.perf_counter()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
                connection.request("POST", path, payload, {"Content-Type": "application/json"})
                response = connection.getresponse()
                data = response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = None
                error = None if status < 500 else data[:300].decode("utf-8", "replace")
                mine.append(Outcome(kind, status, time.perf_counter() - started, marker, error))
            except (OSError, http.client.HTTPException) as error:
                mine.append(Outcome(kind, None, time.perf_counter() - started, marker, repr(error)))
                if connection is not None:
                    connection.close()
                connection = None
        if connection is not None:
            connection.close()
        with lock:
            outcomes.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, time.perf_counter() - started, plan


def check_feedback(path: Path, outcomes: list[Outcome], plan: Plan) -> dict:
    """Every accepted feedback stored exactly once in the feedback database (SQLite), which
    passes its integrity check; nothing else of this run."""
    import sqlite3

    accepted = Counter(o.marker for o in outcomes if o.kind == "feedback" and o.status == 201)
    refused = {o.marker for o in outcomes if o.kind == "feedback" and o.status != 201}
    texts, integrity = [], "ok"
    if path.exists():
        with contextlib.closing(sqlite3.connect(path)) as connection:
            integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
            texts = [row[0] for row in connection.execute("SELECT text FROM feedback")]
    stored = Counter()
    prefix = f"loadtest-{plan.run}-"
    for text in texts:
        start = text.rfind(f"({prefix}")
        if start >= 0:
            stored[text[start + 1:text.index(")", start)]] += 1
    return {
        "accepted": sum(accepted.values()),
        "stored_lines_of_this_run": sum(stored.values()),
        "lines_in_file": len(texts),
        "invalid_lines": 0 if integrity == "ok" else 1,
        "torn_last_line": integrity != "ok",
        "accepted_not_stored_once": sorted(m for m in accepted if stored[m] != 1)[:20],
        "stored_not_accepted": sorted(m for m in stored if m not in accepted)[:20],
        "refused_but_stored": sorted(m for m in refused if stored[m])[:20],
    }


def summarize(outcomes: list[Outcome], seconds: float, requests: int, concurrency: int) -> dict:
    by_kind = {}
    for kind in ("suggest", "batch", "feedback"):
        times = sorted(o.seconds for o in outcomes if o.kind == kind and o.status is not None)
        by_kind[kind] = {
            "requests": sum(1 for o in outcomes if o.kind == kind),
            "statuses": dict(sorted(Counter(str(o.status) for o in outcomes if o.kind == kind).items())),
            "p50_ms": _percentile(times, 50), "p95_ms": _percentile(times, 95), "p99_ms": _percentile(times, 99),
            "max_ms": round(times[-1] * 1000, 1) if times else None,
        }
    errors = [o for o in outcomes if o.status is None]
    server_errors = [o for o in outcomes if o.status is not None and o.status >= 500]
    return {
        "requests_planned": requests, "requests_sent": len(outcomes), "concurrency": concurrency,
        "seconds": round(seconds, 2), "requests_per_second": round(len(outcomes) / seconds, 1) if seconds else None,
        "server_errors_5xx": len(server_errors), "connection_errors": len(errors),
        "first_errors": [f"{o.kind}: {o.status} {o.error}" for o in (errors + server_errors)[:5]],
        "by_kind": by_kind,
    }


def _percentile(sorted_seconds: list[float], percent: float):
    if not sorted_seconds:
        return None
    index = min(len(sorted_seconds) - 1, int(round(percent / 100 * (len(sorted_seconds) - 1))))
    return round(sorted_seconds[index] * 1000, 1)


def verdict(summary: dict, feedback: dict | None) -> list[str]:
    """The failed checks, in words; empty when all hold."""
    failed = []
    if summary["requests_sent"] != summary["requests_planned"]:
        failed.append(f"only {summary['requests_sent']} of {summary['requests_planned']} requests sent before the deadline")
    if summary["server_errors_5xx"]:
        failed.append(f"{summary['server_errors_5xx']} answers were 5xx")
    if summary["connection_errors"]:
        failed.append(f"{summary['connection_errors']} connection errors")
    if feedback is not None:
        if feedback["invalid_lines"] or feedback["torn_last_line"]:
            failed.append(f"feedback file has {feedback['invalid_lines']} invalid lines (torn end: {feedback['torn_last_line']})")
        if feedback["accepted_not_stored_once"] or feedback["stored_not_accepted"] or feedback["refused_but_stored"]:
            failed.append("feedback stored does not match feedback accepted: "
                          f"{ {k: feedback[k] for k in ('accepted_not_stored_once', 'stored_not_accepted', 'refused_but_stored')} }")
        if feedback["stored_lines_of_this_run"] != feedback["accepted"]:
            failed.append(f"{feedback['accepted']} feedback accepted, {feedback['stored_lines_of_this_run']} stored")
    return failed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--model", default="models/default",
                        help="model folder the started server serves (default %(default)s; trained if missing)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of the started server")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker of the started server")
    parser.add_argument("--url", help="use this running server (loopback only) instead of starting one")
    parser.add_argument("--feedback", help="with --url: that server's feedback database, to check it")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--deadline", type=float, default=900.0, help="stop sending after this many seconds")
    args = parser.parse_args(argv)

    if args.url:
        outcomes, seconds, plan = run_load(args.url, args.requests, args.concurrency, args.seed, args.deadline)
        feedback = check_feedback(Path(args.feedback), outcomes, plan) if args.feedback else None
    else:
        with tempfile.TemporaryDirectory(prefix="loadtest-") as folder:
            with production_server(args.model, Path(folder) / "feedback.sqlite3", args.workers, args.threads) as server:
                outcomes, seconds, plan = run_load(server.url, args.requests, args.concurrency, args.seed, args.deadline)
            feedback = check_feedback(server.feedback, outcomes, plan)  # after the server stopped
    summary = summarize(outcomes, seconds, args.requests, args.concurrency)
    failed = verdict(summary, feedback)
    print(json.dumps({**summary, "feedback": feedback, "failed": failed}, ensure_ascii=False, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
