#!/usr/bin/env bash
# Training cost only: always explore (no prediction), one update per step, no target network; 3,000 steps of Pong (or GAME).
# Prints cProfile's functions by cumulative time, then the phase's steps per second.
# Usage: ./profile_train.sh [GAME] [main.py options, which override the ones used here]
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
exec "$python" -m simple_dqn.profiling train "$@"
