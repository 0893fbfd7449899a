#!/usr/bin/env bash
# BFCL's data and checkers for `python -m benchmarks.bfcl`: bfcl-eval without its declared (heavy, model-serving)
# dependencies, which the checkers do not need; mpmath for the multi-turn API classes (the `bfcl` extra).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python}
"$PYTHON" -m pip install -q -e ".[bfcl]"
"$PYTHON" -m pip install -q --no-deps "bfcl-eval==2026.3.23"
