#!/usr/bin/env bash
# Test a snapshot: ./test.sh snapshots/breakout_3.pkl [options]
# Plays one test phase (--test_steps, 125,000 steps by default) and prints the average, min and max game score.
set -euo pipefail
usage="usage: ./test.sh SNAPSHOT [options]   (the snapshot supplies the game and its options)"
source "$(dirname "$0")/src/snapshot_script.sh"
exec "$python" -m simple_dqn --load_weights "$snapshot" --random_steps 0 --train_steps 0 "$@"
