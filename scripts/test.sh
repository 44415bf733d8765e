#!/usr/bin/env bash
# Set up a virtual environment with the test dependencies and run the whole suite: every test,
# the slow, browser and dask ones included. Arguments go to pytest; to deselect by marker see
# [tool.pytest.ini_options] in pyproject.toml (e.g. `bash scripts/test.sh -m "not slow"`).
# pytest's exit code 5 (no tests collected) is turned into a failure: a run that tests nothing
# must not pass.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser tests drive Debian's chromium through chromedriver, and the page's Japanese text
# needs a Japanese font (without one, screenshots show empty boxes). Install what is missing,
# saying so first.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
if command -v dpkg-query >/dev/null 2>&1 \
        && ! dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "ok installed"; then
    missing+=(fonts-noto-cjk)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        as_root=""
    elif command -v sudo >/dev/null 2>&1; then
        as_root="sudo"
    else
        as_root="none"
    fi
    if [ "$as_root" = none ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "warning: ${missing[*]} missing, and no apt-get as root to install them: browser tests will be" \
             "skipped (they fail under CI=true)" >&2
    else
        echo "scripts/test.sh: installing ${missing[*]} with apt-get, for the browser tests (chromium" \
             "driven by chromedriver; fonts-noto-cjk draws the page's Japanese text)" >&2
        $as_root apt-get update -qq
        $as_root env DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi

# The project and its test dependencies, installed only when pyproject.toml changed since the
# last install (a stamp file in .venv names its SHA-256) or the venv cannot import them.
[ -x .venv/bin/python ] || python3 -m venv .venv
digest=$(sha256sum pyproject.toml | cut -d' ' -f1)
stamp=".venv/.installed-test-$digest"
if [ ! -e "$stamp" ] || ! .venv/bin/python -c "import classifier, pytest, hypothesis, selenium" 2>/dev/null; then
    echo "scripts/test.sh: installing the project with its test dependencies into .venv" >&2
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[test]'
    rm -f .venv/.installed-*
    touch "$stamp" ".venv/.installed-$digest"  # the test install includes what scripts/run.sh needs
fi

set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "error: pytest collected no tests" >&2
    exit 1
fi
exit "$status"
