#!/usr/bin/env bash
# Prediction cost only: never explore, so every step asks the network; 10,000 test steps of Pong (or GAME).
# Prints cProfile's functions by cumulative time, then the phase's steps per second.
# Usage: ./profile_test.sh [GAME] [main.py options, which override the ones used here]
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
exec "$python" -m simple_dqn.profiling test "$@"
