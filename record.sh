#!/usr/bin/env bash
# Record a game played by a snapshot: ./record.sh snapshots/breakout_3.pkl [--sound true] [options]
# Writes every frame as videos/<game>/NNNNNN.png and the video videos/<game>_<epoch>.mp4 (H.264, 60 frames per
# second); --video_file videos/{game}_{epoch}.mov for QuickTime.
set -euo pipefail
usage="usage: ./record.sh SNAPSHOT [--sound true] [options]"
source "$(dirname "$0")/src/snapshot_script.sh"
exec "$python" "$root/src/main.py" --load_weights "$snapshot" --play_games 1 --environment ale \
  --record_screen_path "$root/videos/{game}" --video_file "$root/videos/{game}_{epoch}.mp4" "$@"
