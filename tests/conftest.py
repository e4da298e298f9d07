"""Helpers for running the real command-line tools on tiny settings."""

import faulthandler
import fcntl
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAIN = [sys.executable, "-m", "simple_dqn"]
# What the scripts set: the package runs from the checkout's src/, in every process the tests start.
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])
# ./run_tests.sh runs a test process per core (pytest-xdist): each, and every process its tests start, keeps to one
# PyTorch thread, so that they share the cores instead of spinning against each other's threads.
if "PYTEST_XDIST_WORKER" in os.environ:
    os.environ["OMP_NUM_THREADS"] = "1"

# A run small enough for a test: a few hundred steps per phase, a tiny replay memory, and 36x36 screens, on which
# an update costs a fifth of one on the paper's 84x84 (what a run's files and schedules are does not hang on them).
QUICK_SCREENS = ["--screen_width", "36", "--screen_height", "36"]
PAPER_SCREENS = ["--screen_width", "84", "--screen_height", "84"]
TINY_RUN = ["--random_steps", "200", "--train_steps", "400", "--test_steps", "300", "--replay_size", "2000",
            "--validation_size", "64", "--target_steps", "100", "--exploration_decay_steps", "1000",
            "--max_test_frames", "800", "--progress", "false", "--backend", "cpu", *QUICK_SCREENS]


# Fixtures that one test makes for the whole test session and others read (made_once below).
# Fixtures that one test makes for the whole test session and others read (made_once below), with the parameters
# of a test that choose which run of the fixture it reads.
SHARED_FIXTURES = {"trained_run": (), "uninterrupted_runs": ("games", "options"), "finished_sweep": (),
                   "stopped_evaluation": ()}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The order that keeps the test processes busy to the end (./run_tests.sh hands each the next test as it
    starts one): slow tests first, so that they end together on tests of a fraction of a second; among them, the
    first to need each shared run first, and the tests that only read one after the others, so that no test
    process waits on a run another is still making."""
    made: set[tuple] = set()

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker("slow") is None:
            return 3
        callspec = getattr(item, "callspec", None)
        chosen = callspec.params if callspec is not None else {}
        shared = {(name, *(repr(chosen.get(parameter)) for parameter in parameters))
                  for name, parameters in SHARED_FIXTURES.items() if name in item.fixturenames}  # type: ignore[attr-defined]
        if not shared:
            return 1
        if shared <= made:
            return 2
        made.update(shared)
        return 0

    ranks = [rank(item) for item in items]  # in the order collected, so the first to ask is the first collected
    items[:] = [item for _, _, item in sorted(zip(ranks, range(len(items)), items, strict=True))]


def run_command(command: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def run_main(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m simple_dqn ARGS`` in a process of its own, forked from this test process, which has PyTorch and
    the package imported already: the run starts at once instead of after the 3.5 s a new interpreter spends on
    them (on the slowest CPU), and is a process as any other, with its own exit code, output, files and signals.
    Tests that need the live process (its pid, its log as it comes) start ``MAIN`` with Popen, and the tests of a
    script run the script.  Where a fork could hang or fail (PyTorch's threads or CUDA already started in this
    process: ``-n 0``, a GPU), the run starts as a new interpreter instead."""
    import torch
    import torch._dynamo  # noqa: F401  (PyTorch's optimizers import its compiler, 1.5 s, when the first is made)

    from simple_dqn.main import main

    command = [*MAIN, *args]
    if torch.get_num_threads() > 1 or torch.cuda.is_initialized():
        return run_command(command, timeout)
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        with warnings.catch_warnings():  # Python 3.12 warns of forking with threads; the child uses none of them
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            try:
                _run_in_this_fork(lambda: main(list(args)), args, stdout.fileno(), stderr.fileno())
            finally:
                os._exit(70)  # never back into pytest
        try:
            deadline = time.monotonic() + timeout
            while (ended := os.waitpid(pid, os.WNOHANG))[0] == 0:
                if time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(command, timeout, _text(stdout), _text(stderr))
                time.sleep(0.02)
        except BaseException:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise
        return subprocess.CompletedProcess(command, os.waitstatus_to_exitcode(ended[1]), _text(stdout), _text(stderr))


def _text(file: BinaryIO) -> str:
    """A file's text as ``subprocess.run(text=True)`` reads a pipe: every line ending a newline."""
    file.seek(0)
    return file.read().decode().replace("\r\n", "\n").replace("\r", "\n")


def resume_run(snapshot: str | Path, *options: str) -> subprocess.CompletedProcess:
    """What ``./resume.sh SNAPSHOT OPTIONS`` runs, started as ``run_main`` starts a run; the tests of resume.sh
    itself (a prefix for the newest snapshot, an agent of the Hub refused) run the script."""
    return run_main("--load_weights", str(snapshot), "--resume", *options)


def _run_in_this_fork(run: Callable[[], int], args: tuple[str, ...], stdout: int, stderr: int) -> NoReturn:
    """Leave pytest behind as ``python -m simple_dqn ARGS`` would start: the output in the files given (never in
    the pipe the test process talks to pytest-xdist through), its arguments, the logging, warning filters, signal
    handlers and crash handler of a new interpreter, the checkout as the working folder; then exit with what the
    run returned."""
    code = 1
    try:
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(stdout, 1)
        os.dup2(stderr, 2)
        sys.stdin, sys.stdout = open(0, closefd=False), open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, errors="backslashreplace", closefd=False)  # noqa: SIM115
        sys.argv = [str(ROOT / "src" / "simple_dqn" / "__main__.py"), *args]
        os.chdir(ROOT)
        faulthandler.disable()  # pytest's, on the test process's own stderr
        logging.root.handlers.clear()  # pytest's, which would take the run's log lines; the run sets up its own
        warnings.resetwarnings()  # pytest's filters and recorder, for the interpreter's own
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category)
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: sys.stderr.write(
            warnings.formatwarning(message, category, filename, lineno, line))
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        code = run()
    except SystemExit as leaving:  # --help, and what argparse refuses
        code = leaving.code if isinstance(leaving.code, int) else 0 if leaving.code is None else 1
        if isinstance(leaving.code, str):
            print(leaving.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code if isinstance(code, int) else 1)


def run_script(script: str, *args: str) -> subprocess.CompletedProcess:
    return run_command([str(ROOT / script), *args])


def copy_toolkit(folder: Path) -> Path:
    """The scripts, sources and data in ``folder``, sharing .venv, so tests can let them write their outputs."""
    copy = folder / "toolkit"
    copy.mkdir()
    for path in [ROOT / "src", ROOT / "requirements.txt", *ROOT.glob("*.sh")]:
        (shutil.copytree if path.is_dir() else shutil.copy)(path, copy / path.name)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    return copy


def rows_without_times(path: Path) -> list[dict]:
    """A results CSV's rows without the columns that differ from run to run of the same seed."""
    from simple_dqn.runs.results_csv import TIME_COLUMNS, read_csv_rows

    return [{key: value for key, value in row.items() if key not in TIME_COLUMNS} for row in read_csv_rows(path)]


def assert_clear_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit code 2 and one line on stderr that names the problem, never a traceback."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def made_once(tmp_path_factory: pytest.TempPathFactory, worker_id: str, name: str, make: Callable[[Path], Any]) -> Any:
    """What ``make(folder)`` returns (JSON), made in ``folder`` by the first test process that asks and read by the
    others and by later asks: with several test processes (pytest-xdist), a fixture of the session alone would be
    made once in each.  A make that failed fails every test that asks, at once."""
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent  # the folder the test processes share
    folder, made = shared / name, shared / f"{name}.json"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not made.exists():
            folder.mkdir()
            try:
                made.write_text(json.dumps({"made": make(folder)}))
            except BaseException as error:
                made.write_text(json.dumps({"failed": f"{type(error).__name__}: {error}"}))
                raise
        outcome = json.loads(made.read_text())
    if "failed" in outcome:
        pytest.fail(f"{name} could not be made: {outcome['failed']}")
    return outcome["made"]


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """Two tiny epochs of breakout on the paper's screens, trained once for every test that needs snapshots to
    play, show or look into."""
    def train(folder: Path) -> str:
        result = run_main("breakout", *TINY_RUN, *PAPER_SCREENS, "--epochs", "2", "--random_seed", "7",
                          "--save_weights_prefix", str(folder / "breakout"), "--csv_file",
                          str(folder / "breakout.csv"))
        assert result.returncode == 0, result.stderr
        return str(folder)
    return Path(made_once(tmp_path_factory, worker_id, "trained", train))


@pytest.fixture
def virtual_screen() -> Iterator[str]:
    """An X server with no monitor: Xvfb, on the display number it picks itself.

    ``-noreset``: by default Xvfb resets when its last client leaves, and a window opened during
    that reset fails to connect, so a screenshot taken just before the game opens its window
    could make the game fall back to no display.
    """
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (Debian: apt-get install xvfb)")
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1024x768x24", "-nolisten", "tcp",
                               "-noreset"], pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as numbers:
        display = f":{numbers.readline().strip()}"
    yield display
    server.terminate()
    server.wait(timeout=10)
