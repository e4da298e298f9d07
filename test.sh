#!/usr/bin/env bash
# Test a snapshot: ./test.sh snapshots/breakout_3.pkl [options]
# Plays one test phase (--test_steps, 125,000 steps by default) and prints the average, min and max game score.
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
usage="usage: ./test.sh SNAPSHOT [options]   (the snapshot supplies the game and its options)"
if [[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]]; then echo "$usage"; exit 0; fi
if [[ $# -eq 0 || "$1" == -* ]]; then echo "$usage" >&2; exit 2; fi
snapshot="$1"; shift
exec "$python" "$root/src/main.py" --load_weights "$snapshot" --random_steps 0 --train_steps 0 "$@"
