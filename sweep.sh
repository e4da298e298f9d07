#!/usr/bin/env bash
# Train many games with several seeds as Ray tasks, on this machine or a cluster:
#   ./sweep.sh --games breakout,pong,seaquest,space_invaders --seeds 3 [--address auto] [train options]
#   ./sweep.sh --status [--name SWEEP]
# Each run writes results/<sweep>/<game>_s<seed>/; the sweep writes summary.md, summary.csv and summary.png.
# Installs Ray into .venv on first use (requirements-sweep.txt).
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
stamp="$venv/.sweep-requirements.sha256"
wanted="$(cat "$root/requirements.txt" "$root/requirements-sweep.txt" | sha256sum | cut -d' ' -f1)"
reads_only=false  # --status and --help need no Ray
for argument in "$@"; do
  if [[ "$argument" == --status || "$argument" == -h || "$argument" == --help ]]; then reads_only=true; fi
done
if [[ "$reads_only" == false && ( ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ) ]]; then
  echo "Adding Ray to $venv from requirements-sweep.txt (once)..." >&2
  "$venv/bin/python" -m pip install --quiet -r "$root/requirements-sweep.txt" -c "$root/requirements.txt" >&2 ||
    { echo "error: installing requirements-sweep.txt into $venv failed" >&2; exit 2; }
  echo "$wanted" > "$stamp"
fi
cd "$root"
exec "$python" -m simple_dqn.sweeps.driver "$@"
