"""Several games of one Atari ROM at once, stepped by ale-py's vector environment in threads of its own.

``AtariVectorEnv`` emulates in C++ threads while Python goes on: the agent sends the actions, runs its
update, then receives the screens.  Its preprocessing is set to the single game's (``ALEEnvironment``):
the frame skip, the maximum of a step's last two frames, luminance, the same INTER_AREA resize, sticky
actions as set.  What ends an episode is decided here, from the lives and frame numbers it reports, as
``Environment`` decides it.

The vector environment keeps no state that can be saved.  So each phase begins its games with seeds of
their own, drawn from this environment's generator, and keeps the actions sent since; a phase stopped in
the middle rebuilds its games on resuming by replaying them, exactly.
"""

import logging
from typing import NamedTuple

import numpy as np
import torch
from ale_py import AtariVectorEnv
from tqdm import tqdm

from simple_dqn.dqn.environment import resolve_rom
from simple_dqn.dqn.settings import EnvironmentSettings
from simple_dqn.errors import UsageError

log = logging.getLogger(__name__)
SEED_BOUND = 2**31 - 1  # the vector environment takes seeds as C ints
NO_FRAME_CAP = 10**9  # its own cap on a game's frames, never reached: what ends a game is decided here


class Step(NamedTuple):
    """What one step of every game gave, each array with one entry per game."""

    rewards: np.ndarray  # float, summed over the step's frames, unclipped
    terminals: np.ndarray  # bool: the episode ended after the step (for learning)
    game_overs: np.ndarray  # bool: the game itself ended (or reached the test frame cap)
    episode_frames: np.ndarray  # int: emulator frames since each game began


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


class VectorEnvironment:
    """``games`` games of one ROM; ``send`` the actions, do other work, then ``receive`` what they gave.

    In ``train`` mode a lost life ends an episode for learning while the game goes on; in ``test`` mode only
    game over or ``max_test_frames`` frames do.  A new game begins with 0 to ``random_starts`` no-op frames,
    drawn by the vector environment from the game's seed.
    """

    frame_skip: int
    skips_frames_itself = False

    def __init__(self, settings: EnvironmentSettings, games: int, random_starts: int, seed: int) -> None:
        if settings.game is None:
            raise ValueError("EnvironmentSettings.game names no game")  # the command line refuses this first
        self.game = resolve_rom(settings.game)[1]
        self.name = self.game
        self.games = games
        self.frame_skip = settings.frame_skip
        self.terminal_on_life_loss = settings.terminal_on_life_loss
        self.max_test_frames = settings.max_test_frames
        self.mode = "train"
        self._vector = AtariVectorEnv(
            self.game, games, img_height=settings.screen_height, img_width=settings.screen_width, stack_num=1,
            frameskip=settings.frame_skip, maxpool=True, noop_max=random_starts + 1, use_fire_reset=False,
            episodic_life=False, life_loss_info=False, reward_clipping=False,
            max_num_frames_per_episode=NO_FRAME_CAP,
            repeat_action_probability=settings.repeat_action_probability or 0.0,
            full_action_space=not settings.minimal_action_set)
        self._action_names = [action.name for action in self._vector.ale.get_action_set()]
        self.rng = np.random.default_rng(seed)
        self._seeds = np.zeros(games, dtype=np.int64)  # the seed each game in progress began with
        self._played: list[np.ndarray] = []  # the actions sent since the phase's games began, a row per step
        self._screens = np.zeros((games, settings.screen_height, settings.screen_width), dtype=np.uint8)
        self._lives = np.zeros(games, dtype=np.int64)
        self._episode_frames = np.zeros(games, dtype=np.int64)
        self._life_lost = np.zeros(games, dtype=bool)

    def num_actions(self) -> int:
        return len(self._action_names)

    def action_names(self) -> list[str]:
        return list(self._action_names)

    def set_mode(self, mode: str) -> None:
        """``train`` or ``test``: decides what ends an episode (see the class docstring)."""
        if mode not in ("train", "test"):
            raise ValueError(f"mode must be 'train' or 'test', not {mode!r}")
        self.mode = mode

    def screens(self) -> np.ndarray:
        """uint8 (games, height, width): each game's preprocessed screen after the last step."""
        return self._screens

    def send(self, actions: np.ndarray) -> None:
        """Start stepping every game with its action (indices into the action set); returns at once."""
        self._played.append(actions.astype(np.uint8))
        self._vector.send(actions.astype(np.int64))

    def receive(self) -> Step:
        """Wait for the step that ``send`` started."""
        observations, rewards, terminated, _, info = self._vector.recv()
        self._take(observations, info)
        lives = info["lives"]
        self._life_lost = lives < self._lives
        self._lives = lives.astype(np.int64)
        capped = self.mode == "test" and 0 < self.max_test_frames
        game_overs = terminated | (capped & (self._episode_frames >= self.max_test_frames))
        life_loss_ends = self.mode == "train" and self.terminal_on_life_loss
        terminals = game_overs | (self._life_lost & life_loss_ends)
        return Step(rewards.astype(np.float64), terminals, game_overs, self._episode_frames.copy())

    def restart(self, ended: np.ndarray, game_overs: np.ndarray) -> np.ndarray:
        """Begin the next episode of the games whose episode ``ended``: the next life where only a life was lost
        in training, else a new game (its emulator going on, unseeded: reloading the ROM to seed it again would
        take a fifth of a second).  Which games began anew."""
        new_game = ended & (game_overs | (self.mode != "train") | ~self._life_lost)
        self._life_lost[ended] = False
        if new_game.any():
            self._reset(new_game, seeds=None)
        return new_game

    def new_games(self) -> None:
        """Begin a new game in every slot, each with a seed of its own: a phase's games are a function of these
        seeds and the actions sent since."""
        self._seeds = self.rng.integers(0, SEED_BOUND, size=self.games)
        self._played = []
        self._reset(np.ones(self.games, dtype=bool), self._seeds)

    def _reset(self, which: np.ndarray, seeds: np.ndarray | None) -> None:
        """Reset the games ``which``, with ``seeds`` (one per game reset), or going on with their emulators' own."""
        options = None if which.all() else {"reset_mask": which}
        observations, info = self._vector.reset(seed=None if seeds is None else seeds.astype(np.int64),
                                                options=options)
        self._take(observations, info)
        self._lives = info["lives"].astype(np.int64)
        self._life_lost[which] = False

    def _take(self, observations: np.ndarray, info: dict) -> None:
        self._screens[...] = observations[:, 0]
        self._episode_frames = info["episode_frame_number"].astype(np.int64)

    def state_dict(self) -> dict:
        """The generator of seeds, and the phase's games as their seeds and the actions sent since: what rebuilds
        them, the vector environment keeping no state that can be saved."""
        played = np.stack(self._played) if self._played else np.zeros((0, self.games), dtype=np.uint8)
        return {"rng": self.rng.bit_generator.state, "seeds": torch.from_numpy(self._seeds.copy()),
                "played": torch.from_numpy(played)}

    def load_state_dict(self, state: dict) -> None:
        """The games themselves are rebuilt by ``restore_episode_state``, when the resumed phase goes on with them."""
        seeds, played = state["seeds"], state["played"]
        if tuple(seeds.shape) != (self.games,) or played.dim() != 2 or played.shape[1] != self.games:
            raise UsageError(f"the snapshot was saved with --num_envs {len(seeds)}, not {self.games}: resume with "
                             "the run's own")
        self.rng.bit_generator.state = state["rng"]
        self._seeds = seeds.numpy().astype(np.int64)
        self._played = list(played.numpy())

    def episode_state(self) -> dict:
        return {"mode": self.mode}

    def restore_episode_state(self, state: dict) -> None:
        """Rebuild the games of the phase the snapshot stopped in: begin them with their seeds again and replay
        every step sent since, with the same restarts, which follow from what the games give."""
        if state.get("mode") not in ("train", "test"):
            raise UsageError("the snapshot is damaged: the games it stopped in cannot be read")
        self.set_mode(state["mode"])
        played = self._played
        log.info("rebuilding the %d games in progress: replaying %d steps of each", self.games, len(played))
        self._reset(np.ones(self.games, dtype=bool), self._seeds)
        for actions in tqdm(played, desc="rebuilding the games", unit="step", disable=None, leave=False,
                            mininterval=1.0):
            self._vector.send(actions.astype(np.int64))
            step = self.receive()
            self.restart(step.terminals, step.game_overs)
        self._played = played
