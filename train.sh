#!/usr/bin/env bash
# Train on a game: ./train.sh roms/breakout.bin [LABEL] [options]   (or: ./train.sh breakout)
# Snapshots go to snapshots/<game>[_LABEL]_<epoch>.pkl, statistics to results/<game>[_LABEL].csv.
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
if [[ $# -eq 0 || "$1" == -* ]]; then exec "$python" "$root/src/main.py" "$@"; fi
game="$1"; shift
if [[ -f "$game" ]]; then game="$(realpath "$game")"; fi
name="{game}"
if [[ $# -gt 0 && "$1" != -* ]]; then name="{game}_$1"; shift; fi
cd "$root"
exec "$python" src/main.py "$game" --save_weights_prefix "snapshots/$name" --csv_file "results/$name.csv" "$@"
