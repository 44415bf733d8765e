#!/usr/bin/env bash
# Set up a virtual environment with the test dependencies and run the whole suite.
# pytest's exit code 5 (no tests collected) is turned into a failure: a run that tests nothing
# must not pass.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "error: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
