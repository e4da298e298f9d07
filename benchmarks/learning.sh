#!/usr/bin/env bash
# Train a preset on a game and keep its learning curve: benchmarks/learning.sh GAME PRESET [--hours H] [options]
#   Trains for the preset's steps, or stops after H hours of wall-clock with a snapshot; run it again to go on
#   exactly where it stopped (./resume.sh does the same). Keeps in benchmarks/learning/<game>_<preset>/ the CSV,
#   the run record (<game>.yaml) and learning.png, the test score against hours and against agent steps;
#   snapshots/ there holds the snapshots, which git ignores; a run kept there without them is refused, not
#   replaced. Run it with nothing else busy on the machine.
set -euo pipefail
source "$(dirname "$0")/../src/venv.sh"
usage="usage: benchmarks/learning.sh GAME PRESET [--hours H] [options]   (presets: $(ls "$root/src/simple_dqn/presets" | sed 's/\.yaml$//' | tr '\n' ' '))"
if [[ $# -lt 2 || "$1" == -* || "$2" == -* ]]; then echo "$usage" >&2; exit 2; fi
game="$1"; preset="$2"; shift 2
if [[ ! -f "$root/src/simple_dqn/presets/$preset.yaml" ]]; then echo "error: no preset '$preset'; $usage" >&2; exit 2; fi
hours=""
if [[ $# -ge 2 && "$1" == "--hours" ]]; then hours="$2"; shift 2; fi
if [[ -n "$hours" ]] && ! seconds="$(awk -v h="$hours" \
    'BEGIN { if (h !~ /^[0-9]*\.?[0-9]+$/ || h * 3600 < 1) exit 1; printf "%.1f", h * 3600 }')"; then
  echo "error: --hours takes a positive number of hours (a second or more), got '$hours'" >&2; exit 2
fi
if [[ -f "$game" ]]; then game="$(from_root "$game")"; fi
name="$(basename "$game" .bin)"
cd "$root"
folder="benchmarks/learning/${name}_${preset}"  # relative, so the run record names no folder of this machine
newest() { "$python" -m simple_dqn.runs.run_files snapshot "$folder/snapshots/$name" 2>/dev/null || true; }
started_from="$(newest)"
if [[ -n "$started_from" ]]; then
  echo "going on from $started_from" >&2
  command=("$python" -m simple_dqn --load_weights "$started_from" --resume "$@")
elif [[ -f "$folder/$name.csv" ]]; then
  # A run kept without its snapshots (as a clone has them): a new run would replace its CSV and record.
  echo "error: $folder holds a run ($name.csv) with no snapshot to go on from; move that folder away to start anew" >&2
  exit 2
else
  command=("$python" -m simple_dqn "$game" --preset "$preset" --csv_file "$folder/$name.csv"
           --save_weights_prefix "$folder/snapshots/$name" "$@")
fi
began="$(mktemp)"  # a snapshot saved after this file was made was saved by this run
trap 'rm -f "$began"' EXIT
status=0
if [[ -n "$hours" ]]; then
  # SIGTERM stops the run as Ctrl-C does: it saves a snapshot where it is, to go on from. --foreground lets
  # Ctrl-C reach the run too.
  timeout --foreground --signal=TERM "$seconds" "${command[@]}" || status=$?
else
  "${command[@]}" || status=$?
fi
if [[ -f "$folder/$name.csv" ]]; then
  "$python" benchmarks/learning_plot.py "$folder/$name.csv" "$folder/learning.png" --title "$name, preset $preset" ||
    echo "warning: could not draw $folder/learning.png" >&2
fi
if [[ $status -eq 124 ]]; then
  saved="$(newest)"
  if [[ -z "$saved" || ! "$saved" -nt "$began" ]]; then
    echo "error: the $hours hours ran out before the run could save a snapshot; nothing to go on from" >&2
    exit 1
  fi
  echo "stopped after $hours hours with $saved: run benchmarks/learning.sh $name $preset again to go on" >&2
  exit 0
fi
exit $status
