#!/usr/bin/env bash
# Continue training from a snapshot: ./resume.sh snapshots/breakout_3.pkl [options]
# Epochs, exploration rate, step counters, optimizer and target network continue; CSV rows go on in the
# same file, and the replay memory saved beside the newest snapshot is loaded: the run goes on exactly.
# SNAPSHOT may be a run's name, snapshots/breakout, for its newest snapshot.
set -euo pipefail
usage="usage: ./resume.sh SNAPSHOT [options]   (e.g. --epochs 300 to train longer than first planned)"
source "$(dirname "$0")/src/snapshot_script.sh"
if [[ "$snapshot" != hf://* ]]; then snapshot="$(from_root "$snapshot")"; fi  # (an agent on the Hub is refused)
cd "$root"
exec "$python" -m simple_dqn --load_weights "$snapshot" --resume "$@"
