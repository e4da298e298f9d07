#!/usr/bin/env bash
# Watch a snapshot play: ./play.sh snapshots/breakout_3.pkl [--play_games N] [--display_screen window|terminal] [options]
# A window when a graphical display is set, else the game drawn in this terminal. Keys: a slower, s faster,
# m manual control (arrows and space), [ ] volume, q quit.
set -euo pipefail
usage="usage: ./play.sh SNAPSHOT [--play_games N] [--display_screen window|terminal] [options]"
source "$(dirname "$0")/src/snapshot_script.sh"
exec "$python" -m simple_dqn --load_weights "$snapshot" --play_games 1 --environment ale --display_screen true "$@"
