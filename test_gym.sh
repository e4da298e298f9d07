#!/usr/bin/env bash
# Evaluate a snapshot on its Gymnasium id: ./test_gym.sh snapshots/Breakout-v0_3.pkl [options]
# Plays 100 games (--episodes) as the id defines them and writes results/<id>/episodes.csv and summary.json.
set -euo pipefail
usage="usage: ./test_gym.sh SNAPSHOT [options]   (a snapshot trained with --environment gym)"
source "$(dirname "$0")/src/snapshot_script.sh"
exec "$python" -m simple_dqn --load_weights "$snapshot" --protocol gym --results_folder "$root/results/{game}" "$@"
