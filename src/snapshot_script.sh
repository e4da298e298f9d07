# Sourced by the scripts whose first argument is a snapshot, after they set $usage (and $help_module,
# the module whose --help it shows, when it runs one of its own): make or refresh
# .venv, answer --help, refuse a missing snapshot argument, and leave the snapshot (a file, an exported
# agent's folder, or hf://USER/NAME, which is fetched into the Hugging Face cache as it loads) in
# $snapshot and the options that follow it in "$@".
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"
if [[ $# -ge 1 && ( "$1" == "-h" || "$1" == "--help" ) ]]; then
  if [[ -n "${help_module:-}" ]]; then exec "$python" -m "$help_module" --help; fi  # a script of its own options
  exec "$python" -m simple_dqn.script_help "$(basename "$0")" "$usage"  # its usage, then the options that matter
fi
if [[ $# -eq 0 || "$1" == -* ]]; then echo "$usage" >&2; exit 2; fi
snapshot="$1"; shift
if [[ "$snapshot" != hf://* ]]; then  # an agent on the Hub is fetched as it loads, named as it was given
  snapshot="$("$python" -m simple_dqn.runs.run_files snapshot "$snapshot")" || exit 2  # a run's name: its newest
fi
