"""The run record, ``<run>.yaml`` beside the run's CSV: what ran, with what, on what, and when.

Its ``options`` section holds every option the run resolved to except the files it writes, so the
record is a config file too: ``--config results/RUN.yaml`` repeats the run (on the CPU, row for row
apart from the time columns).  A resumed run adds an entry to ``resumes``.
"""

import datetime
import os
import platform
import shlex
import subprocess
from pathlib import Path
from typing import Any

import ale_py
import gymnasium
import numpy as np
import torch
import yaml

import simple_dqn
from simple_dqn.config_file import NOT_IN_CONFIG
from simple_dqn.files import write_atomically

TOOLKIT_ROOT = Path(simple_dqn.__file__).resolve().parents[2]


def record_path(csv_path: Path) -> Path:
    """``results/breakout.csv`` -> ``results/breakout.yaml``."""
    return csv_path.with_suffix(".yaml")


def recorded_options(options: dict[str, Any], output_options: set[str]) -> dict[str, Any]:
    """What a config file may set again: every option but the files the run reads and writes."""
    return {name: value for name, value in options.items() if name not in NOT_IN_CONFIG | output_options}


def write_run_record(path: Path, command: list[str], options: dict[str, Any], output_options: set[str],
                     device: torch.device) -> None:
    """The record of a run that begins now; ``output_options``: the options that name the files it writes."""
    record = {
        **_this_start(command, device),
        "preset": options.get("preset"),
        "config": options.get("config"),
        "seed": options["random_seed"],
        "outputs": {name: options[name] for name in sorted(output_options) if options.get(name)},
        "options": recorded_options(options, output_options),
        "resumes": [],
    }
    _write(path, record)


def add_resume(path: Path, command: list[str], device: torch.device, epoch: int, phase: str) -> None:
    """Note in the record that the run went on from ``epoch``'s ``phase``, when and where."""
    try:
        record = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        record = None
    if not isinstance(record, dict):
        record = {"note": "the run's record was missing or unreadable when it was resumed", "resumes": []}
    resumes = record.get("resumes")
    record["resumes"] = [*(resumes if isinstance(resumes, list) else []),
                         {**_this_start(command, device), "from_epoch": epoch, "from_phase": phase}]
    _write(path, record)


def _this_start(command: list[str], device: torch.device) -> dict[str, Any]:
    return {
        "command": shlex.join(command),
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "toolkit": {"version": simple_dqn.__version__, **_git_state()},
        "versions": {"python": platform.python_version(), "torch": str(torch.__version__), "ale_py": ale_py.__version__,
                     "gymnasium": gymnasium.__version__, "numpy": np.__version__},
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "device": str(device),
                    "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None},
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
    """The toolkit's commit and whether tracked files differ from it, when it runs from a git checkout."""
    def git(*arguments: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(TOOLKIT_ROOT), *arguments], capture_output=True, text=True,
                                  timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": None}
    changes = git("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "local_changes": bool(changes) if changes is not None else None}


def _write(path: Path, record: dict[str, Any]) -> None:
    text = yaml.safe_dump(record, sort_keys=False, allow_unicode=True, width=120)
    write_atomically(path, lambda file: file.write(text.encode()))
