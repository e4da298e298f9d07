# Sourced by the scripts whose first argument is a snapshot, after they set $usage: make or refresh
# .venv, answer --help, refuse a missing snapshot argument, and leave the snapshot in $snapshot
# and the options that follow it in "$@".
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
if [[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]]; then
  echo "$usage"
  echo
  exec "$python" "$root/src/main.py" --help
fi
if [[ $# -eq 0 || "$1" == -* ]]; then echo "$usage" >&2; exit 2; fi
snapshot="$1"; shift
if [[ ! -e "$snapshot" ]]; then  # a run's name, snapshots/breakout, stands for its newest snapshot
  newest="$(ls -v "$snapshot"_[0-9]*.pkl 2>/dev/null | tail -n 1 || true)"
  if [[ -z "$newest" ]]; then
    echo "error: snapshot $snapshot does not exist (a file that ./train.sh wrote, such as snapshots/breakout_3.pkl," \
      "or a run's name, such as snapshots/breakout, for its newest snapshot)" >&2
    exit 2
  fi
  snapshot="$newest"
fi
