"""The production server (``python -m classifier serve``: gunicorn, threaded workers) on a free
loopback port, in a subprocess, for the tests that need real processes and a real socket."""
from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import ROOT


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
def production_server(model_dir, feedback, workers=2, threads=4, env=None, preexec_fn=None, ready_timeout=120,
                      ready=True):
    """``python -m classifier serve`` on a free loopback port; yields a Server, stops it after.

    With ``ready`` it also waits for ``/readyz`` and fails with its reason if the model is not
    usable. The server's output goes to a log file beside the feedback file (``Server.log``).
    """
    port = free_port()
    feedback = Path(feedback)
    log = feedback.with_name(feedback.name + f".server-{port}.log")
    environment = {**os.environ, **(env or {})}
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "classifier", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--model", str(model_dir), "--feedback", str(feedback), "--workers", str(workers),
             "--threads", str(threads)],
            cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=environment, preexec_fn=preexec_fn)
    server = Server(f"http://127.0.0.1:{port}", process, feedback, log)
    try:
        wait_until_answering(server, ready_timeout)
        if ready:
            check_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def wait_until_answering(server: Server, timeout: float) -> None:
    """Until /healthz answers (a server without a usable model is alive but not ready)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.process.kill()
            raise RuntimeError(f"the server did not start:\n{server.log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.2)


def check_ready(server: Server) -> None:
    try:
        with urllib.request.urlopen(f"{server.url}/readyz", timeout=30):
            return
    except urllib.error.HTTPError as error:
        with error:
            reason = json.loads(error.read() or b"{}").get("reason", error.reason)
        raise RuntimeError(f"the server is up but not ready: {reason}") from None
