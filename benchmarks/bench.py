"""Runs every measurement in its own process, then prints the table and writes RESULTS.md.

Started by run.sh with the toolkit's python, once both venvs are ready.  Throughput
figures are medians over REPEATS runs, the runs of the toolkit and of its peers taken in
turn within each repetition so that a slow spell of the machine hits them alike.
Settings (environment variables): REPEATS (3), BENCH_STEPS_SCALE (1; scales every step
count), BENCH_MEMORY_SIZE (1000000), BENCH_OUTPUT (benchmarks/RESULTS.md).
"""

import argparse
import csv
import json
import math
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch

from bench_util import fail
from report import GAMES_AT_ONCE, PACKAGES, SB3_ENVS, SPLIT_PARTS, Settings, Splits, games_run, write_report

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from simple_dqn.dqn.deepqnetwork import native_bfloat16  # noqa: E402  the toolkit, from src/

T = TypeVar("T")
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
FRAMES_PER_GAME = 5000
MINIBATCH_CALLS = 2000
SECONDS = r"(-?\d+(?:\.\d+)?)"
SPLIT_LINE = re.compile(rf"time split: emulator {SECONDS} s, acting {SECONDS} s, update {SECONDS} s, "
                        rf"other {SECONDS} s of {SECONDS} s$")
VERSIONS_CODE = """
import importlib.metadata as metadata, json, platform, sys
def version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
found = {name: version(name) for name in sys.argv[1:]}
threads = None
if found["torch"]:
    import torch
    threads = torch.get_num_threads()
print(json.dumps({"python": platform.python_version(), **found, "torch threads": threads}))
"""


class MeasurementFailed(Exception):
    """A measuring process failed: the message says which and why, in a few lines."""


class Bench:
    """Runs the measuring processes and keeps their commands and results."""

    def __init__(self, python: Path, peer_python: Path, settings: Settings, workdir: Path) -> None:
        self.python = python
        self.peer_python = peer_python
        self.settings = settings
        self.workdir = workdir
        self.commands: dict[str, str] = {}
        self.failures: list[str] = []
        self.splits: Splits = {}

    def shown(self, command: list[str]) -> str:
        """A command as a person would type it from the repository root."""
        names = {str(self.python): ".venv/bin/python", str(self.peer_python): "benchmarks/.venv/bin/python"}
        words = [names.get(word, os.path.relpath(word, ROOT) if word.startswith(str(ROOT)) else word)
                 for word in command]
        return " ".join(word if word.startswith("<") else shlex.quote(word) for word in words)

    def run(self, what: str, command: list[str], shown: list[str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``command`` from the repository root; its outputs, or MeasurementFailed with its stderr's end."""
        self.commands.setdefault(what, self.shown(shown or command))
        started = time.perf_counter()
        print(f"  {what} ...", end="", file=sys.stderr, flush=True)
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        print(f" {time.perf_counter() - started:.0f} s", file=sys.stderr)
        if done.returncode != 0:
            tail = "\n    ".join((done.stderr or done.stdout).strip().splitlines()[-6:]) or "(no output)"
            raise MeasurementFailed(f"{what} failed (exit {done.returncode}):\n    {tail}")
        return done

    def run_json(self, what: str, command: list[str], shown: list[str] | None = None) -> dict:
        """Run a measuring script; the JSON line it prints last."""
        lines = self.run(what, command, shown).stdout.strip().splitlines()
        try:
            return json.loads(lines[-1])
        except (IndexError, json.JSONDecodeError):
            raise MeasurementFailed(f"{what} printed no result") from None

    def attempt(self, measure: Callable[..., T], *args: object) -> T | None:
        """``measure(*args)``, or None with the failure noted, so one failure does not lose the rest."""
        try:
            return measure(*args)
        except MeasurementFailed as failure:
            print(f"\n  {failure}", file=sys.stderr)
            self.failures.append(str(failure))
            return None

    def toolkit_run(self, what: str, rep: int, extra: list[str], random_steps: int, train_steps: int,
                    test_steps: int) -> tuple[dict[str, float], str]:
        """Steps per second of each phase of one ``python -m simple_dqn`` run, from its CSV, and its log."""
        csv_path = self.workdir / f"{what.replace(' ', '_')}_{rep}.csv"
        options = [
            "breakout", "--random_steps", str(random_steps), "--train_steps", str(train_steps),
            "--test_steps", str(test_steps), "--epochs", "1", "--replay_size", "100000",
            "--exploration_rate_start", "0.1", "--exploration_rate_end", "0.1", "--progress", "false", *extra,
        ]
        command = [str(self.python), "-m", "simple_dqn", *options]
        done = self.run(what, [*command, "--random_seed", str(rep), "--csv_file", str(csv_path)],
                        ["PYTHONPATH=src", *command, "--random_seed", "<rep>", "--csv_file", "<csv>"])
        with open(csv_path, newline="") as file:
            return {row["phase"]: float(row["steps_per_second"]) for row in csv.DictReader(file)}, done.stderr

    def toolkit_phases(self, what: str, rep: int, extra: list[str], *steps: int) -> dict[str, float]:
        """Steps per second of each phase of one ``python -m simple_dqn`` run."""
        return self.toolkit_run(what, rep, extra, *steps)[0]

    def games_at_once(self, games: int, rep: int, steps: list[int]) -> dict[str, float]:
        """The phases of the run with ``--num_envs games`` (the plain "ours" run for 1), its train split kept."""
        what = games_run(games)
        phases, log = self.toolkit_run(what, rep, [] if games == 1 else ["--num_envs", str(games)], *steps)
        self.splits.setdefault(games, []).append(train_split(what, log))
        return phases

    def sb3_training(self, rep: int, envs: int) -> dict:
        steps = [str(self.settings.steps(5000)), str(self.settings.steps(3000))]
        command = [str(self.peer_python), str(HERE / "sb3_dqn.py"), *steps]
        what, tail = ("SB3 DQN", []) if envs == 1 else (f"SB3 DQN, {envs} envs", [str(envs)])
        return self.run_json(what, [*command, str(rep), *tail], [*command, "<rep>", *tail])

    def bare_loop(self, rep: int, noop_starts: bool) -> dict:
        what = "bare ale-py loop" + (", no-op starts" if noop_starts else ", no no-op starts")
        command = [str(self.python), str(HERE / "bare_ale.py"), str(self.settings.steps(10_000))]
        flag = ["--noop-starts"] if noop_starts else []
        return self.run_json(what, [*command, str(rep), *flag], [*command, "<rep>", *flag])

    def throughput(self) -> dict[str, list[float]]:
        """Every throughput figure, one value per repetition."""
        figures: dict[str, list[float]] = {}

        def keep(name: str, result: dict | None, key: str) -> None:
            if result and key in result:
                figures.setdefault(name, []).append(result[key])

        phases = [self.settings.steps(count) for count in (5000, 3000, 3000)]
        for rep in range(self.settings.repeats):
            print(f"repetition {rep + 1} of {self.settings.repeats}", file=sys.stderr)
            self.check_idle()
            for games in GAMES_AT_ONCE:  # 1 is the plain "ours" run: all its phases are kept
                ours = self.attempt(self.games_at_once, games, rep, phases)
                for phase in ("random", "train", "test") if games == 1 else ("train",):
                    keep(f"{games_run(games)} {phase}", ours, phase)
            if self.settings.auto_measured:
                auto = self.attempt(self.toolkit_phases, "ours auto", rep, ["--update_precision", "auto"], *phases)
                keep("ours auto train", auto, "train")
            compressed = self.attempt(self.toolkit_phases, "ours compressed", rep,
                                      ["--replay_compress", "true"], *phases)
            keep("ours compressed train", compressed, "train")
            for precision in PRECISIONS:  # the fast preset's own phases; only the epsilon is fixed
                fast = self.attempt(self.toolkit_phases, f"ours fast {precision}", rep,
                                    ["--preset", "fast", "--update_precision", precision], *phases)
                keep(f"ours fast {precision} train", fast, "train")
            sb3 = self.attempt(self.sb3_training, rep, 1)
            keep("sb3 random", sb3, "random_steps_per_second")
            keep("sb3 train", sb3, "train_steps_per_second")
            keep(f"sb3 {SB3_ENVS} envs train", self.attempt(self.sb3_training, rep, SB3_ENVS),
                 "train_steps_per_second")
            random_only = self.attempt(self.toolkit_phases, "ours random phase", rep, [],
                                       self.settings.steps(10_000), 0, 0)
            keep("ours random only", random_only, "random")
            for name, noop_starts in (("bare noop", True), ("bare", False)):
                keep(name, self.attempt(self.bare_loop, rep, noop_starts), "steps_per_second")
        return figures

    def check_idle(self) -> None:
        """Warn, and note in the results, when other processes compete for the CPUs."""
        busy = busy_cpus()
        self.settings.busy_cpus = max(self.settings.busy_cpus, busy)
        if busy > 0.2:
            print(f"warning: other processes keep {busy:.1f} CPUs busy: the figures will be low (torch's threads "
                  "suffer most)", file=sys.stderr)

    def memory(self) -> dict[str, dict]:
        """Every replay memory figure, each measured once in a fresh process."""
        size = self.settings.memory_size
        fill = max(1, size // 10)
        ours = [str(self.python), str(HERE / "memory_ours.py")]
        peer = [str(self.peer_python), str(HERE / "memory_sb3.py"), str(CACHE), str(size), str(fill)]
        print("replay memory", file=sys.stderr)
        recorded = self.attempt(self.run, "record screens",
                                [str(self.python), str(HERE / "record_frames.py"), str(CACHE), str(FRAMES_PER_GAME)])
        if recorded is None:
            return {}
        runs = {
            "ours": ("ours, full", [*ours, "full", str(CACHE), str(size), "false", str(MINIBATCH_CALLS)]),
            "sb3": ("SB3 buffer", [*peer, "false"]),
            "sb3 optimized": ("SB3 buffer, optimize_memory_usage", [*peer, "true"]),
            "ours compressed": ("ours compressed, full",
                                [*ours, "full", str(CACHE), str(size), "true", str(MINIBATCH_CALLS)]),
            "ours per game": ("ours compressed, per game", [*ours, "per-game", str(CACHE), str(fill)]),
        }
        results = {}
        for name, (what, command) in runs.items():
            result = self.attempt(self.run_json, what, command)
            if result is not None:
                results[name] = result
        return results

    def versions(self, python: Path) -> dict:
        """Python's and the packages' versions, and torch's thread count, in the venv of ``python``."""
        done = subprocess.run([str(python), "-c", VERSIONS_CODE, *PACKAGES], capture_output=True, text=True)
        try:
            return json.loads(done.stdout)
        except json.JSONDecodeError:
            self.failures.append(f"could not read the package versions with {python} (exit {done.returncode})")
            return {}


# Where PyTorch emulates bfloat16, the fast preset's bfloat16 run takes a quarter of an hour instead of three minutes,
# and --update_precision auto chooses float32.
NATIVE_BFLOAT16 = native_bfloat16(torch.device("cpu"))
PRECISIONS = ("float32", "bfloat16") if NATIVE_BFLOAT16 else ("float32",)


def train_split(what: str, log: str) -> dict[str, float]:
    """Seconds of each part of the train phase and its total: the last "time split:" line the run logged before
    its train phase's summary (the random phase logs one too)."""
    lines = log.splitlines()
    summary = next((i for i, line in enumerate(lines) if "epoch 1 train:" in line), 0)
    found = [match for line in lines[:summary] if (match := SPLIT_LINE.search(line))]
    if not found:
        raise MeasurementFailed(f"{what} logged no time split before its train phase's summary")
    return dict(zip((*SPLIT_PARTS, "total"), map(float, found[-1].groups()), strict=True))


def setting(name: str, default: str, kind: type[int] | type[float], minimum: float) -> float:
    """A number from the environment, or a one-line error."""
    text = os.environ.get(name, default)
    try:
        value = kind(text)
    except ValueError:
        fail(f"{name} must be {'an integer' if kind is int else 'a number'}, got {text!r}")
    if not math.isfinite(value) or value < minimum:
        fail(f"{name} must be a finite number of at least {minimum:g}, got {text!r}")
    return value


def output_path() -> Path:
    """BENCH_OUTPUT, checked before minutes of measuring rather than after."""
    output = Path(os.environ.get("BENCH_OUTPUT", HERE / "RESULTS.md"))
    if output.is_dir():
        fail(f"BENCH_OUTPUT {output} is a folder: name the file to write")
    probe = output.with_name(output.name + ".tmp")  # where the report is written before it is renamed
    try:
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        fail(f"BENCH_OUTPUT {output}: cannot write there ({error.strerror})")
    return output


def busy_cpus(seconds: float = 1.0) -> float:
    """How many CPUs' worth of work other processes do now (this one sleeps meanwhile)."""
    def times() -> tuple[int, int]:
        fields = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(fields), fields[3] + fields[4]  # all, idle + iowait

    total, idle = times()
    time.sleep(seconds)
    total_after, idle_after = times()
    return (os.cpu_count() or 1) * (1 - (idle_after - idle) / max(1, total_after - total))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-python", type=Path, required=True, help="python of the peer's venv")
    args = parser.parse_args()
    if not os.access(args.peer_python, os.X_OK):
        fail(f"{args.peer_python} is not a python: run benchmarks/run.sh, which makes the peer's venv")
    settings = Settings(
        repeats=int(setting("REPEATS", "3", int, 1)),
        steps_scale=setting("BENCH_STEPS_SCALE", "1", float, 0.001),
        memory_size=int(setting("BENCH_MEMORY_SIZE", "1000000", int, 1000)),
        output=output_path(),
        auto_precision="bfloat16" if NATIVE_BFLOAT16 else "float32",
    )
    python = Path(sys.executable)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        bench = Bench(python, args.peer_python, settings, Path(workdir))
        settings.versions = {"toolkit venv": bench.versions(python), "peer venv": bench.versions(args.peer_python)}
        throughput = bench.throughput()
        memory = bench.memory()
    settings.minutes = (time.perf_counter() - started) / 60
    write_report(settings, throughput, bench.splits, memory, bench.commands, bench.failures)
    if bench.failures:
        print(f"\n{len(bench.failures)} measurement(s) failed:\n" + "\n".join(bench.failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: RESULTS.md was not written", file=sys.stderr)
        sys.exit(130)
