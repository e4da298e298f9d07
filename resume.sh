#!/usr/bin/env bash
# Continue training from a snapshot: ./resume.sh snapshots/breakout_3.pkl [options]
# Epochs, exploration rate, step counters, optimizer and target network continue; CSV rows go on in the
# same file. Replay memory starts empty and refills as training goes on.
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
usage="usage: ./resume.sh SNAPSHOT [options]   (e.g. --epochs 300 to train longer than first planned)"
if [[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]]; then echo "$usage"; exit 0; fi
if [[ $# -eq 0 || "$1" == -* ]]; then echo "$usage" >&2; exit 2; fi
snapshot="$(realpath "$1")"; shift
cd "$root"
exec "$python" src/main.py --load_weights "$snapshot" --resume "$@"
