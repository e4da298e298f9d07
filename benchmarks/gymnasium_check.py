"""Plays a snapshot's network under a standard Gymnasium pipeline instead of the toolkit's own environment.

``python benchmarks/gymnasium_check.py SNAPSHOT [--episodes 30] [--seed 0]``: GAMENoFrameskip-v4 with
``AtariPreprocessing(noop_max=30, frame_skip=4, screen_size=84)`` (1 to 30 no-op frames, the maximum
of the last two frames, luminance, pixel-area resize), the last 4 screens stacked with zeros before
the first, epsilon 0.05 and games of at most 18,000 frames: the Nature protocol built from
Gymnasium's own parts.  A score close to ``evaluate.sh``'s shows that the agent does not depend on
anything particular to the toolkit's environment, such as the frame skip's phase.
"""

import json
import statistics
import sys
from pathlib import Path

import ale_py
import gymnasium
import numpy as np
import torch
from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from simple_dqn.command_line import read_settings  # noqa: E402
from simple_dqn.dqn.deepqnetwork import DeepQNetwork  # noqa: E402
from simple_dqn.errors import UsageError, exit_code_of  # noqa: E402
from simple_dqn.option import OptionParser, count, positive_int  # noqa: E402

gymnasium.register_envs(ale_py)


def play(snapshot_path: str, episodes: int, seed: int) -> dict:
    settings, snapshot = read_settings(["--load_weights", snapshot_path, "--progress", "false"])
    assert snapshot is not None
    env_id = "".join(part.capitalize() for part in snapshot.game.split("_")) + "NoFrameskip-v4"
    height, width = settings.environment.screen_shape
    history = settings.replay.history_length
    env = gymnasium.make(env_id, repeat_action_probability=0.0, full_action_space=False,
                         max_num_frames_per_episode=18_000)
    env = FrameStackObservation(AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=(width, height)),
                                stack_size=history, padding_type="zero")
    meanings = env.unwrapped.get_action_meanings()
    if meanings != snapshot.actions:
        raise UsageError(f"{env_id} has the actions {', '.join(meanings)}; the snapshot {', '.join(snapshot.actions)}")
    network = DeepQNetwork(len(meanings), settings.network, (history, height, width), False, torch.device("cpu"))
    network.load_state_dict(snapshot.contents["network"], with_training_state=False)
    rng = np.random.default_rng(seed)
    returns = []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        total, done = 0.0, False
        while not done:
            explore = rng.random() < 0.05
            action = int(rng.integers(len(meanings))) if explore else network.best_action(np.asarray(observation))
            observation, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return {"snapshot": snapshot_path, "environment": f"{env_id}, AtariPreprocessing(noop_max=30), epsilon 0.05, "
            "18,000 frames", "episodes": episodes, "mean": statistics.fmean(returns),
            "std": statistics.pstdev(returns), "returns": returns}


def main() -> int:
    parser = OptionParser(prog="gymnasium_check.py", description=__doc__.splitlines()[0])
    parser.add_argument("snapshot")
    parser.add_argument("--episodes", type=positive_int, default=30)
    parser.add_argument("--seed", type=count, default=0)
    arguments = parser.parse_args()

    def check() -> int:
        print(json.dumps(play(arguments.snapshot, arguments.episodes, arguments.seed), indent=2))
        return 0
    return exit_code_of(check, "stopped")


if __name__ == "__main__":
    sys.exit(main())
