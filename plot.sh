#!/usr/bin/env bash
# Plot training curves: ./plot.sh results/breakout.csv [more.csv ...] [--fields F1,F2] [--png_file P] [--show]
# Writes results/breakout.png: average reward, number of games, average Q-value and loss against the epoch.
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
exec "$python" -m simple_dqn.watch.plot "$@"
