#!/usr/bin/env bash
# Evaluate a snapshot on its Gymnasium id: ./test_gym.sh snapshots/Breakout-v0_3.pkl [options]
# Plays 100 games (--episodes) as the id defines them and writes results/<id>/episodes.csv and summary.json.
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
usage="usage: ./test_gym.sh SNAPSHOT [options]   (a snapshot trained with --environment gym)"
if [[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]]; then echo "$usage"; exit 0; fi
if [[ $# -eq 0 || "$1" == -* ]]; then echo "$usage" >&2; exit 2; fi
snapshot="$1"; shift
exec "$python" "$root/src/main.py" --load_weights "$snapshot" --protocol gym --results_folder "$root/results/{game}" "$@"
