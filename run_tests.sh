#!/usr/bin/env bash
# Run the test suite: ./run_tests.sh [pytest options]   (sets up .venv on first use)
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
cd "$root"
# A test process per core (pytest-xdist), an idle one taking tests from a busy one's queue; -n 0 runs in one.
exec "$python" -m pytest --numprocesses "$(nproc)" --dist worksteal "$@"
