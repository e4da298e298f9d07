#!/usr/bin/env bash
# Train many games with several seeds as Ray tasks, on this machine or a cluster:
#   ./sweep.sh --games breakout,pong,seaquest,space_invaders --seeds 3 [--address auto] [train options]
#   ./sweep.sh --status [--name SWEEP]
# Each run writes results/<sweep>/<game>_s<seed>/; the sweep writes summary.md, summary.csv and summary.png.
# Installs Ray into .venv on first use (requirements-sweep.txt), once the options have passed their checks.
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
cd "$root"
exec "$python" -m simple_dqn.sweeps.driver "$@"
