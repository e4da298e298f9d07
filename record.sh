#!/usr/bin/env bash
# Record a game played by a snapshot: ./record.sh snapshots/breakout_3.pkl [--sound true] [options]
# Writes every frame as videos/<game>/NNNNNN.png and the video videos/<game>_<epoch>.mp4 (H.264, 60 frames per
# second); --video_file videos/{game}_{epoch}.mov for QuickTime.
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
usage="usage: ./record.sh SNAPSHOT [--sound true] [options]"
if [[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]]; then echo "$usage"; exit 0; fi
if [[ $# -eq 0 || "$1" == -* ]]; then echo "$usage" >&2; exit 2; fi
snapshot="$1"; shift
exec "$python" "$root/src/main.py" --load_weights "$snapshot" --play_games 1 --environment ale \
  --record_screen_path "$root/videos/{game}" --video_file "$root/videos/{game}_{epoch}.mp4" "$@"
