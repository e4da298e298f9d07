#!/usr/bin/env bash
# Evaluate a snapshot as a paper did: ./evaluate.sh SNAPSHOT [--protocol nature|machado] [--episodes N] [options]
#   nature (the default): 30 games, up to 30 no-ops at the start, epsilon 0.05, at most 18,000 frames, no sticky actions;
#   machado: sticky actions 0.25, no no-ops, at most 108,000 frames.
# Prints mean, std, min, max and the human-normalised score; writes results/<game>/<protocol>/episodes.csv and summary.json.
set -euo pipefail
usage="usage: ./evaluate.sh SNAPSHOT [--protocol nature|machado] [--episodes N] [options]"
source "$(dirname "$0")/src/snapshot_script.sh"
protocol=(--protocol nature)
for argument in "$@"; do
  if [[ "$argument" == --protocol || "$argument" == --protocol=* ]]; then protocol=(); fi
done
exec "$python" -m simple_dqn --load_weights "$snapshot" "${protocol[@]}" \
  --results_folder "$root/results/{game}/{protocol}" "$@"
