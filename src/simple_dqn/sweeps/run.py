"""One run of a sweep, as a Ray task executes it: train (or resume) one game with one seed, then evaluate it.

Everything a run keeps lives in its own folder, so a task that dies anywhere is simply started again:
it resumes from the newest snapshot and replay memory there, or skips what is already done.
"""

import ctypes
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from simple_dqn.command_line import parse_options
from simple_dqn.errors import UsageError
from simple_dqn.files import write_atomically
from simple_dqn.runs.checkpoint import load_snapshot
from simple_dqn.runs.evaluation import complete_summary
from simple_dqn.runs.run_files import newest_snapshot

SWEEP_FILE = "sweep.json"
STOP_FILE = "stop"  # in the sweep's folder while it is being stopped: every run's main.py saves and exits
STATUS_FILE = "status.json"
LOG_FILE = "train.log"
EVALUATION_FOLDER = "evaluation"
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
MAIN = (sys.executable, "-m", "simple_dqn")  # with the toolkit's src/ on PYTHONPATH, as its scripts and Ray set it
LIBC = ctypes.CDLL(None, use_errno=True)  # loaded here: a forked child of a threaded worker must not load libraries


class RunCrashed(Exception):
    """main.py died, or stopped before its last epoch, or this node cannot see the sweep: worth another attempt,
    which resumes."""


class RunStopped(Exception):
    """The sweep was stopped: main.py saved where it was; the same sweep command goes on from there."""


class RunRefused(Exception):
    """main.py refused its input (exit code 2): another attempt would be refused the same way."""


@dataclass(frozen=True)
class RunSpec:
    """What one run is: the sweep passes it to the task, which needs nothing else."""
    game: str
    seed: int
    folder: str
    train_options: tuple[str, ...]
    evaluation_options: tuple[str, ...]
    epochs: int
    final_phase: str  # the phase whose row ends an epoch in the CSV: test, or train when there is no test

    @property
    def label(self) -> str:
        """The game as a file name: a Gymnasium id such as ALE/Breakout-v5 holds a slash."""
        return self.game.replace("/", "_")

    @property
    def prefix(self) -> Path:
        return Path(self.folder) / self.label

    @property
    def csv_path(self) -> Path:
        return Path(self.folder) / f"{self.label}.csv"


def plan_runs(folder: Path, settings: dict) -> list[RunSpec]:
    """Every (game, seed) of a sweep's settings, as the sweep writes them in its sweep.json."""
    specs = []
    for game in settings["games"]:
        options = parse_options([game, *settings["train_options"]])
        for seed in settings["seeds"]:
            spec = RunSpec(game, seed, "", tuple(settings["train_options"]),
                           ("--protocol", settings["protocol"], *settings["evaluation_options"]),
                           options.loop.epochs, "test" if options.loop.test_steps else "train")
            specs.append(replace(spec, folder=str(Path(folder) / f"{spec.label}_s{seed}")))
    return specs


def read_sweep_record(folder: Path) -> dict:
    """The sweep.json of the sweep in ``folder``: its settings, when it started, and the process running it."""
    try:
        record = json.loads((Path(folder) / SWEEP_FILE).read_text())
        if isinstance(record, dict) and isinstance(record.get("settings"), dict):
            return record
    except (OSError, ValueError):
        pass
    raise UsageError(f"{folder} is not a sweep's folder (it has no readable {SWEEP_FILE}): choose another --name")


def read_status(folder: Path) -> dict:
    try:
        return json.loads((Path(folder) / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {}


def write_status(folder: Path, **fields: object) -> None:
    """Merge ``fields`` into the run's status.json, written atomically so ``--status`` never reads half of one."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    status = read_status(folder) | fields | {"updated": time.time()}
    write_atomically(Path(folder) / STATUS_FILE, lambda file: file.write(json.dumps(status, indent=2).encode()))


def execute_run(spec: RunSpec, node: str = "", gpus: Sequence[str] = ()) -> dict:
    """Train, resume or skip as the run's folder says, then evaluate; the evaluation's summary. ``gpus``: the ids
    of the GPUs Ray gave the task, the only ones its main.py sees; none, and it runs on the CPU."""
    folder = Path(spec.folder)
    if not (folder.parent / SWEEP_FILE).is_file():  # a node that joined later without the shared storage
        raise RunCrashed(f"{folder.name}: {socket.gethostname()} cannot see the sweep's folder {folder.parent}")
    folder.mkdir(exist_ok=True)
    # A killed attempt's main.py still saves what it was doing: wait for it, never run two on one folder.
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        attempt = read_status(folder).get("attempt", 0) + 1
        write_status(folder, state="running", attempt=attempt, host=socket.gethostname(), node=node,
                     pid=os.getpid(), error=None)
        try:
            summary = complete_summary(folder / EVALUATION_FOLDER)
            if summary is None:  # none yet, or one stopped early: the evaluation is played again, whole
                _train_and_evaluate(spec, lock, attempt, run_environment(gpus))
                summary = complete_summary(folder / EVALUATION_FOLDER)
        except RunStopped:
            write_status(folder, state="stopped")
            raise
        if summary is None:
            raise RunCrashed(f"{folder.name}: the evaluation ended without a summary of every game")
        write_status(folder, state="done", evaluation_mean=summary["mean"])
        return summary


def run_environment(gpus: Sequence[str]) -> dict[str, str]:
    """main.py's environment, which shows it only ``gpus``. Ray (2.60) leaves CUDA_VISIBLE_DEVICES as it is in a
    task that asked for no GPU: its main.py would take cuda:0 unseen by Ray, every such run the same one. Hiding the
    GPUs, rather than passing --device cpu, leaves main.py's own choice and checks as they are everywhere else."""
    return os.environ | {"CUDA_VISIBLE_DEVICES": ",".join(gpus)}


def _train_and_evaluate(spec: RunSpec, lock: IO[str], attempt: int, environment: dict[str, str]) -> None:
    folder = Path(spec.folder)
    try:
        command = training_command(spec)
        if command:
            resuming = "--resume" in command
            _run_main(command, folder, lock, f"attempt {attempt}: {'resuming' if resuming else 'training'}",
                      environment)
            if training_command(spec):  # main.py saved and exited 0 when sent SIGTERM
                raise RunCrashed(f"{folder.name}: main.py was stopped before its last epoch")
    except UsageError as error:  # a damaged snapshot: starting over would lose the run, so stop
        raise RunRefused(f"{folder.name}: {error}") from None
    evaluation = [*MAIN, "--load_weights", str(newest_snapshot(str(spec.prefix))),
                  "--results_folder", str(folder / EVALUATION_FOLDER), "--random_seed", str(spec.seed),
                  "--progress", "false", *spec.evaluation_options]
    _run_main(evaluation, folder, lock, f"attempt {attempt}: evaluating", environment)


def training_command(spec: RunSpec) -> list[str] | None:
    """main.py's command line that continues the run from its folder; None when its training is complete."""
    snapshot_file = newest_snapshot(str(spec.prefix))
    common = ["--progress", "false", *spec.train_options]
    if snapshot_file is None:
        return [*MAIN, spec.game, "--random_seed", str(spec.seed),
                "--save_weights_prefix", str(spec.prefix), "--csv_file", str(spec.csv_path), *common]
    snapshot = load_snapshot(str(snapshot_file))
    if snapshot.epoch >= spec.epochs and not snapshot.stopped:
        return None
    without_replay = [] if snapshot.replay_saved else ["--allow_empty_replay", "true"]
    return [*MAIN, "--load_weights", str(snapshot_file), "--resume", *without_replay, *common]


def _run_main(command: list[str], folder: Path, lock: IO[str], what: str, environment: dict[str, str]) -> None:
    """main.py as a child that gets SIGTERM (and saves a snapshot) when this task's worker dies, and holds the
    run's lock until it exits."""
    parent = os.getpid()

    def terminate_with_parent() -> None:
        if LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0 or os.getppid() != parent:
            os._exit(1)  # no death signal, or the worker died already: an orphan must not hold the lock

    # The stop request is a file in the sweep's folder, which every node sees: Ray's own cancel does not always
    # reach a task that waits (ray-project/ray#32954).
    stop_request = folder.parent / STOP_FILE
    if stop_request.exists():
        raise RunStopped(f"{folder.name}: the sweep was stopped")
    with open(folder / LOG_FILE, "a") as log:
        log.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} {socket.gethostname()} {what}\n")
        log.flush()
        child = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 env=environment, pass_fds=(lock.fileno(),), preexec_fn=terminate_with_parent,
                                 start_new_session=True)
        try:
            while (code := child.poll()) is None and not stop_request.exists():
                time.sleep(0.5)
        except KeyboardInterrupt:  # Ray's cancel, where it does reach the task
            code = None
        if code is None:
            child.send_signal(signal.SIGTERM)
            child.wait()
            raise RunStopped(f"{folder.name}: the sweep was stopped")
    if code == 0:
        return
    last_line = _last_line(folder / LOG_FILE)
    if code == 2:
        raise RunRefused(f"{folder.name}: {last_line}")
    raise RunCrashed(f"{folder.name}: main.py {_exit_reason(code)}: {last_line}")


def _exit_reason(code: int) -> str:
    return f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with {code}"


def _last_line(log_path: Path) -> str:
    lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output)"
