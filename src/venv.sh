# Sourced by the top-level scripts: make .venv from requirements.txt when it is missing or stale, then use it.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.requirements.sha256"
wanted="$(sha256sum "$root/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null ||
    { echo "error: simple_dqn needs Python 3.10 or newer as python3" >&2; exit 2; }
  echo "Setting up $venv from requirements.txt (once; a few minutes)..." >&2
  python3 -m venv "$venv" || { echo "error: could not create $venv (is python3-venv installed?)" >&2; exit 2; }
  "$venv/bin/python" -m pip install --quiet -r "$root/requirements.txt" >&2 ||
    { echo "error: installing requirements.txt into $venv failed" >&2; exit 2; }
  echo "$wanted" > "$stamp"
fi
python="$venv/bin/python"
