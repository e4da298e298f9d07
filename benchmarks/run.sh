#!/usr/bin/env bash
# Benchmark simple_dqn against Stable-Baselines3's DQN and bare floors; prints a table and writes
# benchmarks/RESULTS.md (10 to 16 minutes on 2 cores with REPEATS=1, 25 to 40 with 3; nothing else should run meanwhile).
# Settings: REPEATS (3), BENCH_STEPS_SCALE (1), BENCH_MEMORY_SIZE (1000000), BENCH_OUTPUT (benchmarks/RESULTS.md).
# Usage: ./benchmarks/run.sh
set -euo pipefail
bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$bench/../src/venv.sh"  # the toolkit's .venv, made or refreshed as the toolkit's scripts do; sets $python

# The peer gets a venv of its own, rebuilt whenever requirements-peer.txt changes.
peer_venv="$bench/.venv"
peer_stamp="$peer_venv/.requirements.sha256"
peer_wanted="$(sha256sum "$bench/requirements-peer.txt" | cut -d' ' -f1)"
if [[ ! -x "$peer_venv/bin/python" || ! -f "$peer_stamp" || "$(cat "$peer_stamp")" != "$peer_wanted" ]]; then
  echo "Setting up $peer_venv from requirements-peer.txt (once; a few minutes)..." >&2
  python3 -m venv --clear "$peer_venv" || { echo "error: could not create $peer_venv" >&2; exit 2; }
  log="$peer_venv/pip-install.log"
  "$peer_venv/bin/python" -m pip install -r "$bench/requirements-peer.txt" >"$log" 2>&1 || {
    grep -v 'is ignored' "$log" | tail -n 15 >&2
    echo "error: installing requirements-peer.txt into $peer_venv failed (full log: $log)" >&2
    exit 2
  }
  echo "$peer_wanted" > "$peer_stamp"
fi

exec "$python" "$bench/bench.py" --peer-python "$peer_venv/bin/python"
