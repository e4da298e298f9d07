"""One update's time in float32 and in bfloat16 on this machine's CPU, for the presets' own network settings.

    .venv/bin/python benchmarks/update_precision.py [--updates 100] [--presets nature,fast]

Each preset's update (``DeepQNetwork.train`` on a minibatch of 84x84 states: the nature preset's 32 with centered
RMSProp, the fast preset's 64 with fused Adam) is timed in both precisions, one update of each in turn so that a
slow spell of the machine hits both alike; the figures are medians. Without bfloat16 instructions PyTorch emulates
bfloat16, and the ratio printed is what a run's warning quotes. Run it with nothing else busy.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from simple_dqn.command_line import parse_options  # noqa: E402  the toolkit, from src/
from simple_dqn.dqn.deepqnetwork import BFLOAT16_CPU_INSTRUCTIONS, DeepQNetwork, native_bfloat16  # noqa: E402
from simple_dqn.dqn.replay_memory import Minibatch  # noqa: E402

ACTIONS = 4  # Breakout's
WARM_UP = 10


def minibatch(size: int, rng: np.random.Generator) -> Minibatch:
    return Minibatch(prestates=rng.integers(0, 256, (size, 4, 84, 84), dtype=np.uint8),
                     actions=rng.integers(0, ACTIONS, size),
                     rewards=rng.choice([0.0, 1.0], (size, 1)).astype(np.float32), reward_steps=np.ones(size, np.int64),
                     poststates=rng.integers(0, 256, (size, 4, 84, 84), dtype=np.uint8),
                     terminals=rng.random(size) < 0.01)


def update_seconds(preset: str, updates: int) -> dict[str, float]:
    """The median seconds of one update in each precision, with the preset's network settings."""
    networks = {}
    for precision in ("float32", "bfloat16"):
        settings = parse_options(["breakout", "--preset", preset, "--update_precision", precision]).network
        torch.manual_seed(0)
        networks[precision] = DeepQNetwork(ACTIONS, settings, (4, 84, 84), True, torch.device("cpu"))
    batch = minibatch(settings.batch_size, np.random.default_rng(0))
    times: dict[str, list[float]] = {precision: [] for precision in networks}
    for repetition in range(WARM_UP + updates):
        for precision, network in networks.items():
            started = time.perf_counter()
            network.train(batch).item()
            if repetition >= WARM_UP:
                times[precision].append(time.perf_counter() - started)
    return {precision: statistics.median(seconds) for precision, seconds in times.items()}


def cpu_name() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "an unknown CPU"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "an unknown CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, default=100, help="timed updates per precision and preset")
    parser.add_argument("--presets", default="nature,fast")
    arguments = parser.parse_args()
    capabilities = torch.cpu.get_capabilities()
    found = [name for name in BFLOAT16_CPU_INSTRUCTIONS if capabilities.get(name, False)]
    print(f"{cpu_name()}, {torch.get_num_threads()} PyTorch threads; bfloat16 instructions: "
          f"{', '.join(found) or 'none'} ({'native' if native_bfloat16(torch.device('cpu')) else 'emulated'})")
    for preset in arguments.presets.split(","):
        seconds = update_seconds(preset, arguments.updates)
        print(f"{preset}: float32 {seconds['float32'] * 1e3:.1f} ms, bfloat16 {seconds['bfloat16'] * 1e3:.1f} ms "
              f"an update; bfloat16 takes {seconds['bfloat16'] / seconds['float32']:.2f} times as long")


if __name__ == "__main__":
    main()
