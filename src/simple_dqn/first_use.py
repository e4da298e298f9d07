"""Packages that one feature alone needs, added to this Python's environment the first time it is used: Ray for
sweep.sh (requirements-sweep.txt), wandb for --track (requirements-track.txt). Each is pinned in its own file and
installed with requirements.txt as constraints, so what it brings cannot move the toolkit's own pins.
"""

import fcntl
import importlib
import importlib.metadata
import re
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

from simple_dqn.errors import UsageError
from simple_dqn.files import TOOLKIT_ROOT


def installed(module: str, requirements: Path) -> ModuleType:
    """``module`` imported, after installing ``requirements`` when the package it pins is missing, another version
    or lacks a command it declares; a failed install is one line.

    Two processes asking at once (two sweeps started together) take turns under a lock in the environment: the
    second finds the first one's install complete instead of using it half-written."""
    wanted = pinned_version(requirements, module) if requirements.exists() else None
    if wanted is None and _version(module) is None:
        raise UsageError(f"{module} is not installed and no {requirements.name} pins it: pip install {module}")
    if wanted is not None and not _complete(module, wanted):
        lock_path = Path(sys.prefix) / f".first-use-{module}.lock"
        try:
            lock = open(lock_path, "w")
        except OSError as error:
            raise UsageError(f"cannot add {module} to {sys.prefix}: {error.strerror} ({lock_path})") from None
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            importlib.invalidate_caches()
            if not _complete(module, wanted):
                _install(module, wanted, requirements)
    return importlib.import_module(module)


def _version(module: str) -> str | None:
    try:
        return importlib.metadata.version(module)
    except importlib.metadata.PackageNotFoundError:
        return None


def _complete(module: str, wanted: str) -> bool:
    """``module`` is installed at version ``wanted`` with every command it declares: pip writes the commands last."""
    if _version(module) != wanted:
        return False
    commands = importlib.metadata.distribution(module).entry_points.select(group="console_scripts")
    return all((Path(sysconfig.get_path("scripts")) / command.name).exists() for command in commands)


def _install(module: str, wanted: str, requirements: Path) -> None:
    """Install ``requirements``; again over an install of the right version that lacks a command (pip alone would
    find it satisfied), without touching what it depends on."""
    print(f"Adding {module} {wanted} to {sys.prefix} from {requirements.name} (once)...", file=sys.stderr)
    again = ["--force-reinstall", "--no-deps"] if _version(module) == wanted else []
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *again, "-r", str(requirements),
                             "-c", str(TOOLKIT_ROOT / "requirements.txt")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")] or [""]
        raise UsageError(f"installing {requirements.name} into {sys.prefix} failed: "
                         f"{errors[-1].removeprefix('ERROR: ') or f'pip exited with {result.returncode}'}")
    importlib.invalidate_caches()


def pinned_version(requirements: Path, package: str) -> str | None:
    """The version ``requirements`` pins ``package`` to (``package==VERSION``, extras allowed), if it does."""
    match = re.search(rf"^{re.escape(package)}(\[[^\]]*\])?==(\S+)", requirements.read_text(), re.MULTILINE)
    return match[2] if match else None
