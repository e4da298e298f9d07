#!/usr/bin/env bash
# Ship a learning run's best snapshot as a trained agent: benchmarks/ship_agent.sh GAME PRESET
#   Writes agents/<game>.pkl, the weights alone (no optimizer, target network or replay memory) of the snapshot
#   in benchmarks/learning/<game>_<preset>/ whose test phase scored highest.
set -euo pipefail
source "$(dirname "$0")/../src/venv.sh"
if [[ $# -ne 2 ]]; then echo "usage: benchmarks/ship_agent.sh GAME PRESET" >&2; exit 2; fi
name="$(basename "$1" .bin)"
folder="$root/benchmarks/learning/${name}_$2"
if [[ ! -f "$folder/$name.csv" ]]; then
  echo "error: no learning run in $folder (benchmarks/learning.sh $name $2 makes one)" >&2; exit 2
fi
mkdir -p "$root/agents"
exec "$python" -m simple_dqn.trained_agent "$folder/snapshots/$name" "$folder/$name.csv" "$root/agents/$name.pkl"
