#!/usr/bin/env bash
# Record a game played by a snapshot: ./record.sh snapshots/breakout_3.pkl [--sound true] [options]
# Writes every frame as videos/<snapshot>/NNNNNN.png and the video videos/<snapshot>.mp4 (H.264, 60 frames per
# second), named after the snapshot's file; --video_file 'videos/{snapshot}.mov' for QuickTime.
set -euo pipefail
usage="usage: ./record.sh SNAPSHOT [--sound true] [options]"
source "$(dirname "$0")/src/snapshot_script.sh"
exec "$python" -m simple_dqn --load_weights "$snapshot" --play_games 1 --environment ale \
  --record_screen_path "$root/videos/{snapshot}" --video_file "$root/videos/{snapshot}.mp4" "$@"
