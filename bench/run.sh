#!/usr/bin/env bash
# The benchmark's one entry point: checks for (and installs) what it needs, then runs
# bench/run.py, which writes bench/RESULTS.md (and results.json with --json, or into --out).
# Options go to run.py (--quick for a short smoke run; --help for the rest). About 10 minutes
# on 2 cores.
#
# Needs: the project's Python environment (.venv, as scripts/run.sh makes it; else python3 with
# the project's dependencies) and wrk (Debian's package) for the server load tests.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -x .venv/bin/python ]; then
    PYTHON=.venv/bin/python
else
    PYTHON=${PYTHON:-python3}
fi
if ! "$PYTHON" -c "import classifier, fugashi, unidic_lite, sklearn, flask, gunicorn" 2>/dev/null; then
    echo "bench: the project is not installed for $PYTHON; installing it into .venv (as scripts/run.sh does)" >&2
    python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e .
    PYTHON=.venv/bin/python
fi

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

# The package's bytecode, as a user's machine has it after its first run (or a regular pip
# install): where PYTHONDONTWRITEBYTECODE is set, no command would write it, and every command
# measured would compile the package again as it starts.
"$PYTHON" -m compileall -q classifier

exec "$PYTHON" bench/run.py "$@"
