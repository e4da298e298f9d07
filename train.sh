#!/usr/bin/env bash
# Train on a game: ./train.sh GAME [LABEL] [options]
#   GAME: a ROM file (roms/breakout.bin), a game name (breakout), or with --environment gym a Gymnasium id
#   (Breakout-v0); LABEL keeps a run's files apart.
# Snapshots go to snapshots/<game>[_LABEL]_<epoch>.pkl, statistics to results/<game>[_LABEL].csv.
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
usage="usage: ./train.sh GAME [LABEL] [options]   (./train.sh --help lists the options)"
if [[ $# -eq 0 ]]; then echo "$usage" >&2; exit 2; fi
if [[ "$1" == "-h" || "$1" == "--help" ]]; then
  echo "$usage"
  echo "Writes snapshots/<game>[_LABEL]_<epoch>.pkl after each epoch, a row per phase to results/<game>[_LABEL].csv"
  echo "and TensorBoard events to results/tensorboard/<game>[_LABEL]/ (.venv/bin/tensorboard --logdir results/tensorboard)."
  echo
  mapfile -t outputs < <("$python" -m simple_dqn.runs.run_files train)
  cd "$root"
  exec "$python" -m simple_dqn "${outputs[@]}" --help
fi
if [[ "$1" == -* ]]; then echo "error: name the game first, then options; $usage" >&2; exit 2; fi
game="$1"; shift
if [[ -f "$game" ]]; then game="$(from_root "$game")"; fi
label=()
if [[ $# -gt 0 && "$1" != -* ]]; then label=("$1"); shift; fi
outputs="$("$python" -m simple_dqn.runs.run_files train "${label[@]}")" || exit 2  # where a run's files go
mapfile -t outputs <<< "$outputs"
cd "$root"
exec "$python" -m simple_dqn "$game" "${outputs[@]}" "$@"
