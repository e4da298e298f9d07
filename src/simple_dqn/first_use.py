"""Packages that one feature alone needs, added to this Python's environment the first time it is used: Ray for
sweep.sh (requirements-sweep.txt), wandb for --track (requirements-track.txt). Each is pinned in its own file and
installed with requirements.txt as constraints, so what it brings cannot move the toolkit's own pins.
"""

import importlib
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from simple_dqn.errors import UsageError
from simple_dqn.files import TOOLKIT_ROOT


def installed(module: str, requirements: Path) -> ModuleType:
    """``module`` imported, after installing ``requirements`` when the package it pins is missing or another
    version; a failed install is one line."""
    wanted = pinned_version(requirements, module) if requirements.exists() else None
    try:
        present: str | None = importlib.metadata.version(module)
    except importlib.metadata.PackageNotFoundError:
        present = None
    if present is None and wanted is None:
        raise UsageError(f"{module} is not installed and no {requirements.name} pins it: pip install {module}")
    if wanted is not None and present != wanted:
        print(f"Adding {module} {wanted} to {sys.prefix} from {requirements.name} (once)...", file=sys.stderr)
        result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-r", str(requirements),
                                 "-c", str(TOOLKIT_ROOT / "requirements.txt")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if result.returncode != 0:
            errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")] or [""]
            raise UsageError(f"installing {requirements.name} into {sys.prefix} failed: "
                             f"{errors[-1].removeprefix('ERROR: ') or f'pip exited with {result.returncode}'}")
        importlib.invalidate_caches()
    return importlib.import_module(module)


def pinned_version(requirements: Path, package: str) -> str | None:
    """The version ``requirements`` pins ``package`` to (``package==VERSION``, extras allowed), if it does."""
    match = re.search(rf"^{re.escape(package)}(\[[^\]]*\])?==(\S+)", requirements.read_text(), re.MULTILINE)
    return match[2] if match else None
