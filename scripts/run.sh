#!/usr/bin/env bash
# Set up a virtual environment, install the project and run its main job on the bundled model
# (trained from training_data/ on first use). Extra arguments go to the command.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
echo "ロシア軍のミサイルが首都キーウの集合住宅に着弾し、市民が死傷した。" \
    | .venv/bin/python -m classifier suggest --explain "$@"
