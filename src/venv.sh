# Sourced by the top-level scripts: make .venv from requirements.txt when it is missing or stale, then use it.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.requirements.sha256"
wanted="$(sha256sum "$root/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
  # numpy 2.4, matplotlib 3.11, av 18 and hypothesis need 3.11: on an older one pip would fail halfway.
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
    { echo "error: simple_dqn needs Python 3.11 or newer as python3" >&2; exit 2; }
  echo "Setting up $venv from requirements.txt (once; a few minutes)..." >&2
  python3 -m venv "$venv" || { echo "error: could not create $venv (is python3-venv installed?)" >&2; exit 2; }
  "$venv/bin/python" -m pip install --quiet -r "$root/requirements.txt" >&2 ||
    { echo "error: installing requirements.txt into $venv failed" >&2; exit 2; }
  echo "$wanted" > "$stamp"
fi
python="$venv/bin/python"
# A path as the scripts that run from the root pass it on: relative when inside the root, so that a run record
# names no folder of this machine; absolute elsewhere.
from_root() { realpath --relative-base="$root" "$1"; }
# The package runs from the checkout itself: python -m simple_dqn, from any folder.
export PYTHONPATH="$root/src${PYTHONPATH:+:$PYTHONPATH}"
