"""A sweep's progress, read from its folder alone: it needs no Ray, and works while the sweep runs or after."""

import socket
from pathlib import Path

import psutil

from simple_dqn.errors import UsageError
from simple_dqn.runs.results_csv import read_csv_rows
from simple_dqn.sweeps.run import SWEEP_FILE, RunSpec, plan_runs, read_status, read_sweep_record


def newest_sweep(storage: Path) -> Path:
    sweeps = sorted(storage.glob(f"*/{SWEEP_FILE}"), key=lambda path: path.stat().st_mtime)
    if not sweeps:
        raise UsageError(f"no sweep in {storage}: start one with ./sweep.sh --games breakout,pong")
    return sweeps[-1].parent


def completed_rows(spec: RunSpec) -> list[dict]:
    """The CSV rows of the run's finished epochs: those that end with its last phase."""
    try:
        rows = read_csv_rows(spec.csv_path)
    except (OSError, ValueError):
        return []
    return [row for row in rows if row.get("phase") == spec.final_phase]


def sweep_progress(specs: list[RunSpec]) -> tuple[int, int]:
    """Epochs finished over all runs, and epochs planned."""
    return sum(min(len(completed_rows(spec)), spec.epochs) for spec in specs), sum(spec.epochs for spec in specs)


def describe_sweep(folder: Path) -> str:
    """A table of the runs: state, attempts, epochs done, latest test score and evaluation."""
    record = read_sweep_record(folder)
    specs = plan_runs(folder, record["settings"])
    driver = record.get("driver") or {}
    driver_alive = _driver_alive(driver)
    running = {True: "running", False: "not running", None: f"started on {driver.get('host')}"}[driver_alive]
    lines = [f"{folder}  ({running})",
             f"{'run':<24} {'state':<11} {'attempt':>7} {'epoch':>9} {'last test':>10} {'evaluation':>11}"]
    counts: dict[str, int] = {}
    for spec in specs:
        status = read_status(Path(spec.folder))
        state = status.get("state", "waiting")
        if state in ("running", "waiting") and driver_alive is False:
            state = "stopped" if status.get("attempt") else "not started"
        counts[state] = counts.get(state, 0) + 1
        rows = completed_rows(spec)
        last_test = f"{float(rows[-1]['average_reward']):.1f}" if rows and spec.final_phase == "test" else "-"
        evaluation = f"{status['evaluation_mean']:.1f}" if "evaluation_mean" in status else "-"
        lines.append(f"{Path(spec.folder).name:<24} {state:<11} {status.get('attempt', 0):>7} "
                     f"{f'{min(len(rows), spec.epochs)}/{spec.epochs}':>9} {last_test:>10} {evaluation:>11}")
        if state == "failed" and status.get("error"):
            lines.append(f"    {status['error']}")
    lines.append(", ".join(f"{count} {state}" for state, count in sorted(counts.items())))
    if driver_alive is False and any(state != "done" for state in counts):
        lines.append("the same ./sweep.sh command, with --name " + folder.name + ", continues the runs not done")
    return "\n".join(lines)


def _driver_alive(driver: dict) -> bool | None:
    """Whether the process that started the sweep still runs; None on another machine, where it cannot be told."""
    if driver.get("host") != socket.gethostname():
        return None
    try:
        return abs(psutil.Process(driver["pid"]).create_time() - driver["created"]) < 1.0  # not a reused pid
    except (psutil.Error, KeyError):
        return False
