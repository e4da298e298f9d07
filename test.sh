#!/usr/bin/env bash
# Test a snapshot: ./test.sh snapshots/breakout_3.pkl [options]
# Plays one test phase (--test_steps, 125,000 steps by default) and prints the average, min and max game score.
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
[[ $# -ge 1 && "$1" != -* ]] || { echo "usage: ./test.sh SNAPSHOT [options]" >&2; exit 2; }
snapshot="$1"; shift
exec "$python" "$root/src/main.py" --load_weights "$snapshot" --random_steps 0 --train_steps 0 --epochs 1 "$@"
