#!/usr/bin/env bash
# Set up a virtual environment, install the project and start the HTTP service on the bundled
# model (trained from training_data/ on first use). Extra arguments go to `classifier serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/python -m classifier serve "$@"
