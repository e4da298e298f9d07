"""Several games of one Atari ROM at once, stepped by ale-py's vector environment in threads of its own.

``AtariVectorEnv`` emulates in C++ threads while Python goes on: the agent sends the actions, runs its
update, then receives the screens.  Its preprocessing is set to the single game's (``ALEEnvironment``):
the frame skip, the maximum of a step's last two frames, luminance, the same INTER_AREA resize, sticky
actions as set.  What ends an episode is decided by ``Games``, from the lives and frame numbers it reports,
as for one game.

The vector environment keeps no state that can be saved.  So each phase begins its games with seeds of
their own, drawn from this environment's generator, and keeps the actions sent since; a phase stopped in
the middle rebuilds its games on resuming by replaying them, exactly.
"""

import logging

import numpy as np
import torch
from ale_py import AtariVectorEnv
from tqdm import tqdm

from simple_dqn.dqn.environment import resolve_rom
from simple_dqn.dqn.games import Emulated, Games
from simple_dqn.dqn.settings import EnvironmentSettings, ReplaySettings
from simple_dqn.errors import UsageError

log = logging.getLogger(__name__)
SEED_BOUND = 2**31 - 1  # the vector environment takes seeds as C ints
NO_FRAME_CAP = 10**9  # its own cap on a game's frames, never reached: what ends a game is decided here


def refuse_unsupported(settings: EnvironmentSettings, noop_unit: str) -> None:
    """The settings a vector environment cannot reproduce, each refused in one line."""
    if settings.environment != "ale":
        raise UsageError("--num_envs above 1 needs --environment ale: it steps ale-py's vector environment")
    if settings.frame_pool != "max":
        raise UsageError("--num_envs above 1 needs --frame_pool max: ale-py's vector environment has no colour "
                         "averaging")
    if settings.frame_skip < 2:
        raise UsageError("--num_envs above 1 needs --frame_skip of at least 2: ale-py's vector environment pools "
                         "two frames of the same step only")
    if noop_unit != "frames":
        raise UsageError("--num_envs above 1 needs --noop_unit frames: ale-py's vector environment begins games "
                         "with no-op frames")


class VectorEnvironment(Games):
    """``games`` games of one ROM, stepped in ale-py's own threads: ``receive`` waits for what ``send`` started.

    A new game begins with 0 to ``random_starts`` no-op frames, drawn by the vector environment from the game's
    seed.
    """

    frame_skip: int

    def __init__(self, settings: EnvironmentSettings, games: int, random_starts: int, seed: int,
                 history_length: int = ReplaySettings.history_length) -> None:
        super().__init__(settings, games, seed, history_length)
        if settings.game is None:
            raise ValueError("EnvironmentSettings.game names no game")  # the command line refuses this first
        self.game = resolve_rom(settings.game)[1]
        self.name = self.game
        self.frame_skip = settings.frame_skip
        self.repeat_action_probability = settings.repeat_action_probability or 0.0
        self._vector = AtariVectorEnv(
            self.game, games, img_height=settings.screen_height, img_width=settings.screen_width, stack_num=1,
            frameskip=settings.frame_skip, maxpool=True, noop_max=random_starts + 1, use_fire_reset=False,
            episodic_life=False, life_loss_info=False, reward_clipping=False,
            max_num_frames_per_episode=NO_FRAME_CAP, repeat_action_probability=self.repeat_action_probability,
            full_action_space=not settings.minimal_action_set)
        self._action_names = [action.name for action in self._vector.ale.get_action_set()]
        self._seeds = np.zeros(games, dtype=np.int64)  # the seed each game in progress began with
        self._played: list[np.ndarray] = []  # the actions sent since the phase's games began, a row per step
        self._screens = np.zeros((games, settings.screen_height, settings.screen_width), dtype=np.uint8)
        self._lives = np.zeros(games, dtype=np.int64)
        self._episode_frames = np.zeros(games, dtype=np.int64)

    def num_actions(self) -> int:
        return len(self._action_names)

    def action_names(self) -> list[str]:
        return list(self._action_names)

    def sticky_action_probability(self) -> float:
        return self.repeat_action_probability

    def screens(self) -> np.ndarray:
        return self._screens

    def send(self, actions: np.ndarray) -> None:
        """Returns at once: the games step while the caller goes on."""
        self._played.append(actions.astype(np.uint8))
        self._vector.send(actions.astype(np.int64))

    def _receive(self) -> Emulated:
        observations, rewards, terminated, _, info = self._vector.recv()
        self._take(observations, info)
        lives = info["lives"].astype(np.int64)
        lives_lost = lives < self._lives
        self._lives = lives
        return Emulated(rewards.astype(np.float64), terminated, lives_lost, self._episode_frames.copy())

    def _begin_games(self, which: np.ndarray, phase_start: bool) -> None:
        """As a phase begins, every game with a seed of its own: a phase's games are a function of these seeds and
        the actions sent since.  Later games go on with their emulators, unseeded: reloading the ROM to seed them
        again would take a fifth of a second."""
        if phase_start:
            self._seeds = self.rng.integers(0, SEED_BOUND, size=self.count)
            self._played = []
        self._reset(which, self._seeds if phase_start else None)

    def _reset(self, which: np.ndarray, seeds: np.ndarray | None) -> None:
        """Reset the games ``which``, with ``seeds`` (one per game reset), or going on with their emulators' own."""
        options = None if which.all() else {"reset_mask": which}
        observations, info = self._vector.reset(seed=None if seeds is None else seeds.astype(np.int64),
                                                options=options)
        self._take(observations, info)
        self._lives = info["lives"].astype(np.int64)

    def _take(self, observations: np.ndarray, info: dict) -> None:
        self._screens[...] = observations[:, 0]
        self._episode_frames = info["episode_frame_number"].astype(np.int64)

    def state_dict(self) -> dict:
        """The generator of seeds, and the phase's games as their seeds and the actions sent since: what rebuilds
        them, the vector environment keeping no state that can be saved."""
        played = np.stack(self._played) if self._played else np.zeros((0, self.count), dtype=np.uint8)
        return {"rng": self.rng.bit_generator.state, "seeds": torch.from_numpy(self._seeds.copy()),
                "played": torch.from_numpy(played)}

    def load_state_dict(self, state: dict) -> None:
        """The games themselves are rebuilt by ``continue_episodes``, when the resumed phase goes on with them."""
        seeds, played = state["seeds"], state["played"]
        if tuple(seeds.shape) != (self.count,) or played.dim() != 2 or played.shape[1] != self.count:
            raise UsageError(f"the snapshot was saved with --num_envs {len(seeds)}, not {self.count}: resume with "
                             "the run's own")
        self.rng.bit_generator.state = state["rng"]
        self._seeds = seeds.numpy().astype(np.int64)
        self._played = list(played.numpy())

    def _rebuild_games(self) -> None:
        """Begin the games of the phase the snapshot stopped in with their seeds again and replay every step sent
        since, with the same restarts, which follow from what the games give."""
        played = self._played
        log.info("rebuilding the %d games in progress: replaying %d steps of each", self.count, len(played))
        self._reset(np.ones(self.count, dtype=bool), self._seeds)
        for actions in tqdm(played, desc="rebuilding the games", unit="step", disable=None, leave=False,
                            mininterval=1.0):
            self._vector.send(actions.astype(np.int64))
            self._restart(self.receive())
        self._played = played
