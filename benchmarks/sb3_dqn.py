"""The peer's training speed: Stable-Baselines3's DQN on Breakout, set up as the toolkit's run is.

SB3's Atari preprocessing (no-op starts, frame skip 4 with max-pooling, 84x84 grayscale,
a lost life ends the episode) and a stack of 4 screens; NatureCNN; one update of 32
transitions every 4 steps; epsilon fixed at 0.1; the CPU with torch's default threads.
Only the steps after ``learning_starts`` are timed, as the toolkit's train phase is.
With N_ENVS games (SB3's default DummyVecEnv) the update still comes once per 4 agent
steps: SB3 counts ``train_freq`` in vector steps of N_ENVS agent steps each, while
``learning_starts`` and the timesteps count agent steps.
Usage: sb3_dqn.py RANDOM_STEPS TRAIN_STEPS SEED [N_ENVS (1, 2 or 4; 1 by default)]
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
    """Times the random steps before learning starts and the training steps after, counting the timesteps
    at each mark: with several games a vector step may pass ``learning_starts`` and the total."""

    def __init__(self, learning_starts: int) -> None:
        super().__init__()
        self.learning_starts = learning_starts
        self.started = self.learning_started = self.ended = 0.0
        self.random_steps = self.steps = 0

    def _on_training_start(self) -> None:
        self.started = time.perf_counter()

    def _on_step(self) -> bool:
        if not self.random_steps and self.num_timesteps >= self.learning_starts:
            self.learning_started = time.perf_counter()
            self.random_steps = self.num_timesteps
        return True

    def _on_training_end(self) -> None:
        self.ended = time.perf_counter()
        self.steps = self.num_timesteps


def run(random_steps: int, train_steps: int, seed: int, n_envs: int) -> dict:
    gymnasium.register_envs(ale_py)
    env = VecFrameStack(make_atari_env("BreakoutNoFrameskip-v4", n_envs=n_envs, seed=seed), n_stack=4)
    model = DQN(
        "CnnPolicy", env,
        batch_size=32, train_freq=4 // n_envs, gradient_steps=1, buffer_size=100_000,
        learning_starts=random_steps, target_update_interval=10_000,
        exploration_initial_eps=0.1, exploration_final_eps=0.1,
        device="cpu", seed=seed, verbose=0,
    )
    clock = Clock(random_steps)
    model.learn(total_timesteps=random_steps + train_steps, callback=clock)
    return {
        "random_steps_per_second": clock.random_steps / (clock.learning_started - clock.started),
        "train_steps_per_second": (clock.steps - clock.random_steps) / (clock.ended - clock.learning_started),
    }


def main() -> None:
    if len(sys.argv) not in (4, 5):
        fail("usage: sb3_dqn.py RANDOM_STEPS TRAIN_STEPS SEED [N_ENVS]")
    random_steps, train_steps, seed = map(int, sys.argv[1:4])
    n_envs = int(sys.argv[4]) if len(sys.argv) == 5 else 1
    if random_steps < 1 or train_steps < 1:
        fail("RANDOM_STEPS and TRAIN_STEPS must be at least 1")
    if n_envs not in (1, 2, 4):
        fail("N_ENVS must be 1, 2 or 4: one update per 4 agent steps needs a whole train_freq")
    emit(run(random_steps, train_steps, seed, n_envs))


if __name__ == "__main__":
    main()
