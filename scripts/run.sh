#!/usr/bin/env bash
# Set up a virtual environment, install the project and start the HTTP service on the bundled
# model (trained from training_data/ on first use). Extra arguments go to `classifier serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
# Installed only when pyproject.toml changed since the last install (a stamp file in .venv names
# its SHA-256; scripts/test.sh leaves one too) or the venv cannot import the project.
[ -x .venv/bin/python ] || python3 -m venv .venv
digest=$(sha256sum pyproject.toml | cut -d' ' -f1)
stamp=".venv/.installed-$digest"
if [ ! -e "$stamp" ] || ! .venv/bin/python -c "import classifier, flask, gunicorn" 2>/dev/null; then
    echo "scripts/run.sh: installing the project into .venv" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e .
    rm -f .venv/.installed-[0-9a-f]*  # earlier stamps (scripts/test.sh's start with "test-")
    touch "$stamp"
fi
exec .venv/bin/python -m classifier serve "$@"
