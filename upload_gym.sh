#!/usr/bin/env bash
# Share a test_gym.sh evaluation and its snapshot: ./upload_gym.sh results/Breakout-v0 --repo_id USER/NAME [options]
# Exports the snapshot its summary.json names (--snapshot for another) with those results to exports/<snapshot>/,
# then uploads that folder to the Hugging Face Hub as ./upload.sh does (--dry_run: list it, send nothing).
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
exec "$python" -m simple_dqn.sharing.upload_gym --output "$root/exports/{snapshot}" "$@"
