#!/usr/bin/env bash
# Run the test suite: ./run_tests.sh [pytest options]   (sets up .venv on first use)
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
cd "$root"
# A test process per core (pytest-xdist), each handed the next test as it starts one, in the order
# tests/conftest.py gives them; -n 0 runs them all in one.
exec "$python" -m pytest --numprocesses "$(nproc)" --dist load --maxschedchunk 1 "$@"
