"""What a sweep costs and gains: the same runs one after another without Ray, then as a sweep on Ray.

    .venv/bin/python benchmarks/sweep_speed.py [--games breakout,pong] [--seeds 2] [--epochs 2] [--train_steps 2000]

Both do exactly the same work per run (``execute_run``: train, then evaluate); the ratio is the sweep's
speed-up on this machine, Ray's start and scheduling included. Run it with nothing else busy.
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ["PYTHONPATH"] = str(ROOT / "src")  # for the runs' own processes

from simple_dqn.sweeps.run import SWEEP_FILE, execute_run, plan_runs  # noqa: E402  the toolkit, from src/


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", default="breakout,pong")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train_steps", type=int, default=2000)
    arguments = parser.parse_args()
    if importlib.util.find_spec("ray") is None:
        sys.exit("Ray is not in this Python: run ./sweep.sh once (it installs Ray), then this with .venv/bin/python")
    train = ["--random_steps", "500", "--train_steps", str(arguments.train_steps), "--test_steps", "1000",
             "--replay_size", "10000", "--epochs", str(arguments.epochs)]  # on the CPU: no run asks for a GPU
    evaluation = ["--episodes", "2", "--max_test_frames", "2000"]
    settings = {"games": arguments.games.split(","), "seeds": list(range(1, arguments.seeds + 1)),
                "train_options": train, "protocol": "nature", "evaluation_options": evaluation}
    with tempfile.TemporaryDirectory() as scratch:
        one_after_another = Path(scratch) / "sequential"
        one_after_another.mkdir()
        (one_after_another / SWEEP_FILE).write_text(json.dumps({"settings": settings}))
        os.chdir(ROOT)
        started = time.perf_counter()
        for spec in plan_runs(one_after_another, settings):
            execute_run(spec)
        sequential = time.perf_counter() - started

        started = time.perf_counter()
        subprocess.run([str(ROOT / "sweep.sh"), "--games", arguments.games, "--seeds", str(arguments.seeds),
                        "--storage", scratch, "--name", "sweep", "--evaluation_options", " ".join(evaluation), *train],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        swept = time.perf_counter() - started
    runs = len(settings["games"]) * arguments.seeds
    print(f"{runs} runs on {os.cpu_count()} CPUs: one after another {sequential:.1f} s, as a sweep {swept:.1f} s, "
          f"speed-up {sequential / swept:.2f}")


if __name__ == "__main__":
    main()
