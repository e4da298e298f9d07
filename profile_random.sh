#!/usr/bin/env bash
# Emulator and preprocessing cost only: 10,000 random steps of Pong (or GAME), no network.
# Prints cProfile's functions by cumulative time, then the phase's steps per second.
# Usage: ./profile_random.sh [GAME] [main.py options, which override the ones used here]
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
exec "$python" -m simple_dqn.profiling random "$@"
