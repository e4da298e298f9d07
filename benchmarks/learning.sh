#!/usr/bin/env bash
# Train a preset on a game and keep its learning curve: benchmarks/learning.sh GAME PRESET [--hours H] [options]
#   Trains for the preset's steps, or stops after H hours of wall-clock with a snapshot; run it again to go on
#   exactly where it stopped (./resume.sh does the same). Keeps in benchmarks/learning/<game>_<preset>/ the CSV,
#   the run record (<game>.yaml) and learning.png, the test score against hours and against agent steps;
#   snapshots/ there holds the snapshots, which git ignores. Run it with nothing else busy on the machine.
set -euo pipefail
source "$(dirname "$0")/../src/venv.sh"
usage="usage: benchmarks/learning.sh GAME PRESET [--hours H] [options]   (presets: $(ls "$root/presets" | sed 's/\.yaml$//' | tr '\n' ' '))"
if [[ $# -lt 2 || "$1" == -* || "$2" == -* ]]; then echo "$usage" >&2; exit 2; fi
game="$1"; preset="$2"; shift 2
if [[ ! -f "$root/presets/$preset.yaml" ]]; then echo "error: no preset '$preset'; $usage" >&2; exit 2; fi
hours=""
if [[ $# -ge 2 && "$1" == "--hours" ]]; then hours="$2"; shift 2; fi
if [[ -n "$hours" ]] && ! seconds="$(awk -v h="$hours" 'BEGIN { if (h !~ /^[0-9]*\.?[0-9]+$/ || h <= 0) exit 1; printf "%d", h * 3600 }')"; then
  echo "error: --hours takes a positive number of hours, got '$hours'" >&2; exit 2
fi
name="$(basename "$game" .bin)"
folder="$root/benchmarks/learning/${name}_${preset}"
mkdir -p "$folder/snapshots"
newest="$("$python" -m simple_dqn.runs.run_files snapshot "$folder/snapshots/$name" 2>/dev/null)" || newest=""
if [[ -n "$newest" ]]; then
  echo "going on from $newest" >&2
  command=("$python" -m simple_dqn --load_weights "$newest" --resume "$@")
else
  if [[ -f "$game" ]]; then game="$(realpath "$game")"; fi
  command=("$python" -m simple_dqn "$game" --preset "$preset" --csv_file "$folder/$name.csv"
           --save_weights_prefix "$folder/snapshots/$name" "$@")
fi
cd "$root"
status=0
if [[ -n "$hours" ]]; then
  # SIGTERM stops the run as Ctrl-C does: it saves a snapshot where it is, to go on from.
  timeout --signal=TERM "$seconds" "${command[@]}" || status=$?
else
  "${command[@]}" || status=$?
fi
if [[ -f "$folder/$name.csv" ]]; then
  "$python" "$root/benchmarks/learning_plot.py" "$folder/$name.csv" "$folder/learning.png" --title "$name, preset $preset"
fi
if [[ $status -eq 124 ]]; then
  echo "stopped after $hours hours with a snapshot: run benchmarks/learning.sh $name $preset again to go on" >&2
  exit 0
fi
exit $status
