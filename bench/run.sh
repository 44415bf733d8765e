#!/usr/bin/env bash
# The benchmark's one entry point: checks for (and installs) what it needs, then runs
# bench/run.py, which writes bench/RESULTS.md and bench/results.json. Options go to run.py
# (--quick for a short smoke run; --help for the rest). About 10 minutes on 2 cores.
#
# Needs: the project's Python environment (.venv, as scripts/run.sh makes it; else python3 with
# the project's dependencies), wrk (Debian's package) for the server load tests, and optionally
# pyinstrument and py-spy (PyPI) for the profiles.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -x .venv/bin/python ]; then
    PYTHON=.venv/bin/python
else
    PYTHON=${PYTHON:-python3}
fi
if ! "$PYTHON" -c "import classifier.model, fugashi, unidic_lite, sklearn, flask, gunicorn" 2>/dev/null; then
    echo "bench: the project is not installed for $PYTHON; installing it into .venv (as scripts/run.sh does)" >&2
    python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e .
    PYTHON=.venv/bin/python
fi
if ! "$PYTHON" -c "import pyinstrument" 2>/dev/null || ! "$PYTHON" -m py_spy --version >/dev/null 2>&1 && ! command -v py-spy >/dev/null; then
    echo "bench: installing the profilers pyinstrument and py-spy (optional)" >&2
    "$PYTHON" -m pip install --quiet pyinstrument py-spy || echo "bench: could not install the profilers; profiles are skipped" >&2
fi
export PATH="$(dirname "$("$PYTHON" -c 'import sys; print(sys.executable)')"):$PATH"

if ! command -v wrk >/dev/null; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        echo "bench: installing wrk (Debian's package) for the load tests" >&2
        # another process may hold apt's lock: wait for it rather than fail
        for attempt in 1 2 3 4 5 6 7 8 9 10; do
            if (apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1; }); then
                break
            fi
            sleep 15
        done
    fi
    if ! command -v wrk >/dev/null; then
        echo "bench: wrk is missing (apt-get install wrk as root): the server load tests will be skipped" >&2
    fi
fi

exec "$PYTHON" bench/run.py "$@"
