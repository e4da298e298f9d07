#!/usr/bin/env bash
# The handbook (docs/, mkdocs.yml): ./docs.sh [serve] [mkdocs serve options] | ./docs.sh build [mkdocs build options]
#   serve (the default): at http://127.0.0.1:8000, rebuilt as you edit.
#   build: writes site/ with mkdocs build --strict, so a broken link, a missing picture or a page left out of the
#   navigation fails it, as in CI.
# Adds MkDocs and its Material theme to .venv on first use (requirements-docs.txt); nothing else needs them.
set -euo pipefail
usage="usage: ./docs.sh [serve|build] [mkdocs options]"
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
  echo "$usage"
  echo "serve (the default) shows the handbook at http://127.0.0.1:8000; build writes site/ and fails on any warning."
  exit 0
fi
source "$(dirname "$0")/src/venv.sh"
cd "$root"
docs_requirements="$root/requirements-docs.txt"
docs_stamp="$venv/.requirements-docs.sha256"
docs_wanted="$(sha256sum "$docs_requirements" | cut -d' ' -f1)"
docs_ready() {  # the pinned versions installed, the console script included
  [[ -x "$venv/bin/mkdocs" && "$(cat "$docs_stamp" 2>/dev/null)" == "$docs_wanted" ]] &&
    "$python" -c 'import material, mkdocs' 2>/dev/null
}
if ! docs_ready; then
  # Two ./docs.sh started together: one installs, the other waits for it and finds the work done.
  exec 9>"$venv/.requirements-docs.lock"
  flock 9
  if ! docs_ready; then
    echo "Adding MkDocs to $venv from requirements-docs.txt (once)..." >&2
    "$python" -m pip install --quiet -r "$docs_requirements" -c "$root/requirements.txt" >&2 ||
      { echo "error: installing requirements-docs.txt into $venv failed" >&2; exit 2; }
    echo "$docs_wanted" > "$docs_stamp"
  fi
  exec 9>&-
fi
export NO_MKDOCS_2_WARNING=1  # Material's notice of its end of life, printed on every build otherwise
command="serve"
if [[ $# -gt 0 && "$1" != -* ]]; then command="$1"; shift; fi
case "$command" in
  serve) exec "$venv/bin/mkdocs" serve "$@" ;;
  build) exec "$venv/bin/mkdocs" build --strict "$@" ;;
  *) echo "error: unknown command '$command'; $usage" >&2; exit 2 ;;
esac
