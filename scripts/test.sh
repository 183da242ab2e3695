#!/bin/sh
# Install yanex and its development tools into .venv, then run every check:
# the test suite, ruff (lint and format) and mypy. Extra arguments go to pytest.
set -eu
cd "$(dirname "$0")/.."
. scripts/venv.sh
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]'
"$VENV/bin/python" -m ruff check .
"$VENV/bin/python" -m ruff format --check .
"$VENV/bin/python" -m mypy
"$VENV/bin/python" -m pytest "$@"
