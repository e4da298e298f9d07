#!/usr/bin/env bash
# Export a snapshot to share: ./export.sh SNAPSHOT [--output FOLDER] [--evaluation RESULTS_FOLDER | --evaluate [options]]
# Writes exports/<snapshot>/ in the layout of a Hugging Face model repository: model.safetensors, config.json,
# README.md (the model card), the evaluation's summary.json and episodes.csv, and replay.mp4. ./upload.sh sends it.
set -euo pipefail
usage="usage: ./export.sh SNAPSHOT [--output FOLDER] [--repo_id USER/NAME] [--video_frames N] [--evaluation RESULTS_FOLDER | --evaluate [test options]]"
help_module=simple_dqn.sharing.export
source "$(dirname "$0")/src/snapshot_script.sh"
exec "$python" -m simple_dqn.sharing.export "$snapshot" --output "$root/exports/{snapshot}" "$@"
