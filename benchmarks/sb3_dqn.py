"""The peer's training speed: Stable-Baselines3's DQN on Breakout, set up as the toolkit's run is.

SB3's Atari preprocessing (no-op starts, frame skip 4 with max-pooling, 84x84 grayscale,
a lost life ends the episode) and a stack of 4 screens; NatureCNN; one update of 32
transitions every 4 steps; epsilon fixed at 0.1; the CPU with torch's default threads.
Only the steps after ``learning_starts`` are timed, as the toolkit's train phase is.
Usage: sb3_dqn.py RANDOM_STEPS TRAIN_STEPS SEED
"""

import sys
import time

import ale_py
import gymnasium
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_atari_env
from stable_baselines3.common.vec_env import VecFrameStack

from bench_util import emit, fail


class Clock(BaseCallback):
    """Times the random steps before learning starts and the training steps after."""

    def __init__(self, learning_starts: int) -> None:
        super().__init__()
        self.learning_starts = learning_starts
        self.started = self.learning_started = self.ended = 0.0

    def _on_training_start(self) -> None:
        self.started = time.perf_counter()

    def _on_step(self) -> bool:
        if self.num_timesteps == self.learning_starts:
            self.learning_started = time.perf_counter()
        return True

    def _on_training_end(self) -> None:
        self.ended = time.perf_counter()


def run(random_steps: int, train_steps: int, seed: int) -> dict:
    gymnasium.register_envs(ale_py)
    env = VecFrameStack(make_atari_env("BreakoutNoFrameskip-v4", n_envs=1, seed=seed), n_stack=4)
    model = DQN(
        "CnnPolicy", env,
        batch_size=32, train_freq=4, gradient_steps=1, buffer_size=100_000,
        learning_starts=random_steps, target_update_interval=10_000,
        exploration_initial_eps=0.1, exploration_final_eps=0.1,
        device="cpu", seed=seed, verbose=0,
    )
    clock = Clock(random_steps)
    model.learn(total_timesteps=random_steps + train_steps, callback=clock)
    return {
        "random_steps_per_second": random_steps / (clock.learning_started - clock.started),
        "train_steps_per_second": train_steps / (clock.ended - clock.learning_started),
    }


def main() -> None:
    if len(sys.argv) != 4:
        fail("usage: sb3_dqn.py RANDOM_STEPS TRAIN_STEPS SEED")
    random_steps, train_steps, seed = map(int, sys.argv[1:])
    if random_steps < 1 or train_steps < 1:
        fail("RANDOM_STEPS and TRAIN_STEPS must be at least 1")
    emit(run(random_steps, train_steps, seed))


if __name__ == "__main__":
    main()
