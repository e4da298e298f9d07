#!/usr/bin/env bash
# Ship a learning run's best snapshot as a trained agent: benchmarks/ship_agent.sh GAME PRESET [--epoch N]
#   Writes agents/<game>.pkl, the weights alone (no optimizer, target network or replay memory) of the snapshot
#   in benchmarks/learning/<game>_<preset>/ whose test phase scored highest, or of epoch N's snapshot (a test phase
#   of a few games can be carried by one long game: evaluate.sh's 30 games tell the snapshots apart better).
set -euo pipefail
source "$(dirname "$0")/../src/venv.sh"
usage="usage: benchmarks/ship_agent.sh GAME PRESET [--epoch N]"
if [[ $# -ne 2 && ! ( $# -eq 4 && "$3" == "--epoch" ) ]]; then echo "$usage" >&2; exit 2; fi
epoch=()
if [[ $# -eq 4 ]]; then
  if [[ ! "$4" =~ ^[0-9]+$ ]]; then echo "error: --epoch takes an epoch number, got '$4'; $usage" >&2; exit 2; fi
  epoch=("$4")
fi
name="$(basename "$1" .bin)"
folder="$root/benchmarks/learning/${name}_$2"
if [[ ! -f "$folder/$name.csv" ]]; then
  echo "error: no learning run in $folder (benchmarks/learning.sh $name $2 makes one)" >&2; exit 2
fi
mkdir -p "$root/agents"
exec "$python" -m simple_dqn.trained_agent "$folder/snapshots/$name" "$folder/$name.csv" "$root/agents/$name.pkl" "${epoch[@]}"
