"""Atari games through Gymnasium ids (the ones ale-py registers), with the same interface as ALEEnvironment.

An id decides its own frame skip and sticky actions: ``Breakout-v0`` skips 2 to 4
frames at random with sticky actions 0.25, ``ALE/Breakout-v5`` skips 4 with sticky
actions 0.25, ``BreakoutNoFrameskip-v4`` skips none.  Only when the id skips none
do our own frame skip and max-pooling apply (Gymnasium's AtariPreprocessing does
them exactly as ALEEnvironment does); otherwise each step's last frame is the screen.
"""

import base64
import json
import logging
import re
import warnings
from typing import Any

import ale_py
import cv2
import gymnasium
import numpy as np
from ale_py import Action, ALEInterface, LoggerMode
from gymnasium.wrappers import AtariPreprocessing

from simple_dqn.dqn.environment import Environment
from simple_dqn.dqn.settings import EnvironmentSettings, ReplaySettings
from simple_dqn.errors import UsageError
from simple_dqn.option import did_you_mean

gymnasium.register_envs(ale_py)
log = logging.getLogger(__name__)


def safe_name(env_id: str) -> str:
    """A file name from an id: 'ALE/Breakout-v5' -> 'ALE-Breakout-v5'."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", env_id)


def atari_ids() -> list[str]:
    return [env_id for env_id, spec in gymnasium.registry.items() if str(spec.entry_point).startswith("ale_py")]


def check_atari_id(env_id: str) -> None:
    """Refuse an id ale-py does not register, naming ids that it does."""
    known = atari_ids()
    if env_id in ale_py.roms.get_all_rom_ids():
        title = "".join(part.capitalize() for part in env_id.split("_"))
        raise UsageError(f"'{env_id}' is a game, not a Gymnasium id: give an id such as {title}-v0, "
                         f"ALE/{title}-v5 or {title}NoFrameskip-v4")
    if "-ram" in env_id:
        raise UsageError(f"'{env_id}' observes the console's RAM; the network plays from screens: drop '-ram'")
    if env_id not in known:
        hint = (did_you_mean(env_id, known, most=5)
                or "ids look like Breakout-v0, ALE/Breakout-v5, BreakoutNoFrameskip-v4")
        raise UsageError(f"unknown Gymnasium Atari id '{env_id}': {hint}")


class GymEnvironment(Environment):
    """A game through a Gymnasium id.

    Its game is also over at the id's own frame limit (108,000 frames for ale-py's ids).
    """

    can_continue_episodes = False  # its wrappers keep counters (time limits) that no saved state restores

    def __init__(self, settings: EnvironmentSettings, seed: int = 0, random_starts: int = 30,
                 noop_unit: str = "frames", history_length: int = ReplaySettings.history_length) -> None:
        super().__init__(settings, seed, random_starts, noop_unit, history_length)
        env_id, frame_skip, frame_pool = str(settings.game), settings.frame_skip, settings.frame_pool
        repeat_action_probability, screen_shape = settings.repeat_action_probability, settings.screen_shape
        check_atari_id(env_id)
        if frame_pool != "max":
            raise UsageError(f"--frame_pool {frame_pool} is ALE's colour averaging, which Gymnasium ids do not offer: "
                             "use --environment ale")
        self.env_id = env_id
        overrides: dict[str, Any] = ({} if repeat_action_probability is None
                                     else {"repeat_action_probability": repeat_action_probability})
        ALEInterface.setLoggerMode(LoggerMode.Error)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the v0 ids are old, but are what the original used
            env = gymnasium.make(env_id, obs_type="grayscale", full_action_space=not settings.minimal_action_set,
                                 **overrides)
        spec = env.spec
        assert spec is not None  # every registered id has one
        self.game = spec.kwargs["game"]
        self.name = safe_name(env_id)
        self.screen_size = (screen_shape[1], screen_shape[0])  # OpenCV and Gymnasium take (width, height)
        frameskip = spec.kwargs["frameskip"]
        self.skips_frames_itself = frameskip != 1
        if self.skips_frames_itself:
            if frame_skip != 4:
                log.warning("--frame_skip %d does not apply: %s skips %s frames itself", frame_skip, env_id, frameskip)
            self.frame_skip = list(range(*frameskip)) if isinstance(frameskip, tuple) else frameskip
            self.env = env
        else:
            self.frame_skip = frame_skip
            self.env = AtariPreprocessing(env, noop_max=0, frame_skip=frame_skip, screen_size=self.screen_size)
        atari: Any = env.unwrapped  # ale-py's AtariEnv
        self.ale = atari.ale
        self.action_meanings = atari.get_action_meanings()
        self._seed: int | None = seed
        self._screen: np.ndarray = np.zeros(screen_shape, dtype=np.uint8)
        self._game_over = False

    def num_actions(self) -> int:
        return len(self.action_meanings)

    def action_names(self) -> list[str]:
        return list(self.action_meanings)

    def _emulator_state(self) -> bytes:
        """The emulator, and the generator the id draws its random frame skips and sticky actions from."""
        return json.dumps({"ale": base64.b64encode(super()._emulator_state()).decode(),
                           "np_random": self.env.unwrapped.np_random.bit_generator.state}).encode()

    def _restore_emulator_state(self, state: bytes) -> None:
        saved = json.loads(state)
        super()._restore_emulator_state(base64.b64decode(saved["ale"]))
        self.env.unwrapped.np_random.bit_generator.state = saved["np_random"]
        self._seed = None  # seeding the first game now would undo what was restored

    def new_game(self) -> None:
        observation, info = self.env.reset(seed=self._seed)
        self._seed = None  # seeded once; later games go on from the generator it set up
        self._keep(observation)
        self._game_over = False

    def act(self, action: int) -> float:
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._keep(observation)
        self._game_over = terminated or truncated
        return float(reward)

    def noop(self, frames: int) -> None:
        """The frames are emulated below the id's own frame skip, so that they may be fewer than one step's; the
        screen after is then made as a step makes it: pooled over the last two frames unless the id skips frames."""
        before = self.ale.getScreenGrayscale() if frames == 1 else None  # the frame the only one is pooled with
        for frame in range(frames):
            self.ale.act(Action.NOOP)
            if frame == frames - 2:
                before = self.ale.getScreenGrayscale()
            if self.ale.game_over():
                break
        last = self.ale.getScreenGrayscale()
        pooled = last if self.skips_frames_itself or before is None else np.maximum(before, last)
        self._screen = cv2.resize(pooled, self.screen_size, interpolation=cv2.INTER_AREA)
        self._game_over = self.ale.game_over()

    def _keep(self, observation: np.ndarray) -> None:
        if self.skips_frames_itself:
            observation = cv2.resize(observation, self.screen_size, interpolation=cv2.INTER_AREA)
        self._screen = observation

    def get_screen(self) -> np.ndarray:
        return self._screen

    def episode_frames(self) -> int:
        return self.ale.getEpisodeFrameNumber()

    def game_over(self) -> bool:
        return self._game_over
