#!/usr/bin/env bash
# See what a snapshot's network looks at: ./nvis.sh snapshots/breakout_3.pkl [--visualization saliency] [options]
# Plays one game and writes results/<game>.html: for each convolutional layer's first filters, the state where each
# activates most beside its guided backpropagation map.
set -euo pipefail
usage="usage: ./nvis.sh SNAPSHOT [--visualization guided|saliency] [--visualization_filters N] [options]"
source "$(dirname "$0")/src/snapshot_script.sh"
exec "$python" -m simple_dqn --load_weights "$snapshot" --play_games 1 \
  --visualization_file "$root/results/{game}.html" "$@"
