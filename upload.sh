#!/usr/bin/env bash
# Send an exported agent to the Hugging Face Hub: ./upload.sh exports/breakout_3 --repo_id USER/NAME [--dry_run]
# Makes the model repository if it is not there; the token is HF_TOKEN's or hf auth login's. --dry_run lists the
# files it would send and sends nothing. Played back with ./play.sh hf://USER/NAME.
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
exec "$python" -m simple_dqn.sharing.hub upload "$@"
