#!/usr/bin/env bash
# Continue training from a snapshot: ./resume.sh snapshots/breakout_3.pkl [options]
# Epochs, exploration rate, step counters, optimizer and target network continue; CSV rows go on in the same file.
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
[[ $# -ge 1 && "$1" != -* ]] || { echo "usage: ./resume.sh SNAPSHOT [options]" >&2; exit 2; }
snapshot="$(realpath "$1")"; shift
cd "$root"
exec "$python" src/main.py --load_weights "$snapshot" --resume "$@"
