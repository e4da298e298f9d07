"""The run record, ``<run>.yaml`` beside the run's CSV: what ran, with what, on what, and when.

Its ``options`` section holds every option the run resolved to but the files it reads and writes
(those are under ``files``), so the record is a config file too: ``--config results/RUN.yaml``
repeats the run (on the CPU, row for row apart from the time columns), provided it started from
scratch (``files`` names the snapshot whose weights it started from otherwise).  A resumed run adds
an entry to ``resumes``, with the options it changed.
"""

import datetime
import importlib.metadata
import os
import platform
import shlex
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from simple_dqn import __version__
from simple_dqn.dqn.deepqnetwork import update_precision_on
from simple_dqn.errors import UsageError
from simple_dqn.files import TOOLKIT_ROOT, write_atomically

RECORD_KEYS = {"command", "started", "options", "resumes"}  # what tells a run record from another YAML file


def record_path(csv_path: Path) -> Path:
    """``results/breakout.csv`` -> ``results/breakout.yaml``."""
    return csv_path.with_suffix(".yaml")


def check_record_path(path: Path, config: str | None) -> None:
    """The record may replace an earlier run's record, never the config file the run reads or another file."""
    if config is not None and Path(config).resolve() == path.resolve():
        raise UsageError(f"the run's record would be written over its own --config {config}: copy it elsewhere, or "
                         "name the run's CSV differently")
    if path.exists() and not _is_record(_read(path)):
        raise UsageError(f"{path} is not a run record of simple_dqn, and the run's record would replace it: move it "
                         "away, or name the run's CSV differently")


def write_run_record(path: Path, command: list[str], options: dict[str, Any], file_options: set[str],
                     device: torch.device) -> None:
    """The record of a run that begins now; ``file_options``: the options naming files it reads and writes."""
    record = {
        **_this_start(command, device, options),
        "preset": options.get("preset"),
        "config": options.get("config"),
        "seed": options["random_seed"],
        "files": {name: options[name] for name in sorted(file_options) if options.get(name) is not None},
        "options": {name: value for name, value in options.items() if name not in file_options},
        "resumes": [],
    }
    _write(path, record)


def add_resume(path: Path, command: list[str], device: torch.device, epoch: int, phase: str,
               options: dict[str, Any]) -> None:
    """Note in the record that the run went on from ``epoch``'s ``phase``: when, where, and what it changed."""
    record = _read(path) if path.exists() else None
    if not _is_record(record):
        record = {"note": "the run's record was missing or unreadable when it was resumed", "options": {},
                  "resumes": []}
    assert isinstance(record, dict)
    started_with = record["options"] if isinstance(record.get("options"), dict) else {}
    changed = {name: value for name, value in options.items() if name in started_with and started_with[name] != value}
    resumes = record.get("resumes")
    record["resumes"] = [*(resumes if isinstance(resumes, list) else []),
                         {**_this_start(command, device, options), "from_epoch": epoch, "from_phase": phase,
                          "changed_options": changed}]
    _write(path, record)


def _this_start(command: list[str], device: torch.device, options: dict[str, Any]) -> dict[str, Any]:
    precision = update_precision_on(options["update_precision"], device)
    return {
        "command": shlex.join(command),
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "toolkit": {"version": __version__, **_git_state()},
        "versions": {"python": platform.python_version(), "torch": str(torch.__version__),
                     "ale_py": importlib.metadata.version("ale-py"),
                     "gymnasium": importlib.metadata.version("gymnasium"), "numpy": np.__version__},
        "machine": {"cpu": cpu_model(), "cores": len(os.sched_getaffinity(0)), "torch_threads": torch.get_num_threads(),
                    "device": str(device),
                    "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None},
        "update_precision": {"chosen": precision.name, "why": precision.why},
    }


def cpu_model() -> str:
    """The CPU's name as the kernel reports it (``platform.processor()`` is empty on most Linux systems)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_state() -> dict[str, Any]:
    """The toolkit's commit and whether tracked files differ from it, when the toolkit is a git checkout itself
    (not a copy inside another project's repository)."""
    def git(*arguments: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(TOOLKIT_ROOT), *arguments], capture_output=True, text=True,
                                  timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != TOOLKIT_ROOT:
        return {"git_commit": None}
    changes = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": git("rev-parse", "HEAD"), "local_changes": bool(changes) if changes is not None else None}


def _read(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def _is_record(contents: object) -> bool:
    return isinstance(contents, dict) and RECORD_KEYS <= set(contents)


def _write(path: Path, record: dict[str, Any]) -> None:
    text = yaml.safe_dump(record, sort_keys=False, allow_unicode=True, width=120)
    write_atomically(path, lambda file: file.write(text.encode()))
