# Sourced by the scripts whose first argument is a snapshot, after they set $usage: make or refresh
# .venv, answer --help, refuse a missing snapshot argument, and leave the snapshot in $snapshot
# and the options that follow it in "$@".
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
if [[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]]; then
  echo "$usage"
  echo
  exec "$python" -m simple_dqn --help
fi
if [[ $# -eq 0 || "$1" == -* ]]; then echo "$usage" >&2; exit 2; fi
snapshot="$1"; shift
snapshot="$("$python" -m simple_dqn.runs.run_files snapshot "$snapshot")" || exit 2  # a run's name: its newest snapshot
