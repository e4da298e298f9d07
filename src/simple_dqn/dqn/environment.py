"""Atari games through ale-py's own interface, preprocessed as in the Nature paper."""

import logging
import re
import warnings
from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from ale_py import Action, ALEInterface, ALEState, LoggerMode, roms

from simple_dqn.dqn.games import Emulated, Games
from simple_dqn.dqn.settings import EnvironmentSettings, ReplaySettings
from simple_dqn.errors import UsageError
from simple_dqn.files import TOOLKIT_ROOT
from simple_dqn.option import did_you_mean

log = logging.getLogger(__name__)
ROMS_FOLDER = TOOLKIT_ROOT / "roms"  # for ROMs of the user's own


def game_id(name: str) -> str:
    """ale-py's spelling of a game name: 'SpaceInvaders', 'space-invaders' -> 'space_invaders'."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return snake.replace("-", "_").replace(" ", "_").lower()


def resolve_rom(game: str) -> tuple[Path, str]:
    """A ROM path and the game's name, from a ROM file or a bare game name.

    A ROM file that exists is used as it is (ale-py checks it is a known game);
    otherwise a ROM of that name in ``roms/``, then the one ale-py ships: for a file
    named that is not there, one line says which ROM plays instead.
    """
    given = Path(game)
    if given.is_file():
        return given, _supported_game(given)
    name = game_id(given.stem if given.suffix == ".bin" else given.name)
    rom, name, source = _rom_of(name, game)
    if given.suffix == ".bin" or len(given.parts) > 1:
        log.info("%s is not there: playing %s, %s for %s", game, rom, source, name)
    return rom, name


def _rom_of(name: str, game: str) -> tuple[Path, str, str]:
    """The ROM of the game ``name`` in ``roms/``, else the one ale-py ships; its game, and which of them it is."""
    own = ROMS_FOLDER / f"{name}.bin"
    if own.is_file():
        return own, _supported_game(own), "the ROM in roms/"
    known = roms.get_all_rom_ids()
    if name in known:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shipped = roms.get_rom_path(name)
        if shipped is not None:
            return Path(shipped), name, "the ROM ale-py ships"
    hint = did_you_mean(name, known, most=5) or f"ale-py knows {len(known)} games, such as breakout, pong, seaquest"
    raise UsageError(f"unknown game or missing ROM '{game}': {hint}")


def _supported_game(path: Path) -> str:
    name = ALEInterface.isSupportedROM(path)
    if name is None:
        raise UsageError(f"{path} is not a ROM that ale-py supports (its checksum matches no known game)")
    return name


class Environment(Games):
    """One Atari game, whichever backend runs it: the batch of one that ``Games`` drives; one call to ``act`` is
    one agent step.

    A new game begins with no-op frames drawn from this environment's generator: 1 to ``random_starts`` emulator
    frames (or 0 to ``random_starts`` agent steps of no-op with ``noop_unit`` steps).
    """

    ale: ALEInterface  # the emulator, whichever backend drives it

    def __init__(self, settings: EnvironmentSettings, seed: int | None, random_starts: int, noop_unit: str,
                 history_length: int = ReplaySettings.history_length) -> None:
        super().__init__(settings, 1, seed, history_length)
        self.random_starts, self.noop_unit = random_starts, noop_unit
        self._action = 0  # sent, to be taken by the next ``receive``

    @abstractmethod
    def new_game(self) -> None: ...

    @abstractmethod
    def act(self, action: int) -> float:
        """One agent step; the summed, unclipped reward."""

    @abstractmethod
    def noop(self, frames: int) -> None:
        """Emulate ``frames`` frames of no-op, as a game's random start: unlike ``act``, whatever the frame skip,
        so a game may begin at any phase of it.  No reward is kept, and no life counts as lost."""

    @abstractmethod
    def get_screen(self) -> np.ndarray:
        """uint8 (height, width): the preprocessed screen after the last step."""

    @abstractmethod
    def episode_frames(self) -> int:
        """Emulator frames since the game began."""

    @abstractmethod
    def game_over(self) -> bool:
        """The game itself ended (a Gymnasium id's frame limit included)."""

    def lives(self) -> int:
        return self.ale.lives()

    def sticky_action_probability(self) -> float:
        return self.ale.getFloat("repeat_action_probability")

    def send(self, actions: np.ndarray) -> None:
        """Keep the action: one game is stepped as it is received."""
        self._action = int(actions[0])

    def _receive(self) -> Emulated:
        lives = self.lives()
        reward = self.act(self._action)
        return Emulated(np.array([reward]), np.array([self.game_over()]), np.array([self.lives() < lives]),
                        np.array([self.episode_frames()]))

    def screens(self) -> np.ndarray:
        return self.get_screen()[np.newaxis]

    def _begin_games(self, which: np.ndarray, phase_start: bool) -> None:
        """A game that ends in its no-op start (at a test's frame cap, say) begins again without one."""
        self.new_game()
        if self.noop_unit == "frames" and self.random_starts:
            self.noop(int(self.rng.integers(1, self.random_starts + 1)))
            if self._ended_in_no_ops():
                self.new_game()
        elif self.noop_unit == "steps":
            for _ in range(self.rng.integers(self.random_starts + 1)):
                self.act(0)
                if self._ended_in_no_ops():
                    self.new_game()

    def _ended_in_no_ops(self) -> bool:
        return bool(self._over(np.array([self.game_over()]), np.array([self.episode_frames()]))[0])

    def state_dict(self) -> dict:
        """The emulator with its random number generators, and the generator of no-op starts."""
        return {"emulator": torch.frombuffer(bytearray(self._emulator_state()), dtype=torch.uint8),
                "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self._restore_emulator_state(state["emulator"].numpy().tobytes())
        self.rng.bit_generator.state = state["rng"]

    def _rebuild_games(self) -> None:
        """Nothing to do: ``load_state_dict`` restored the emulator, and the game with it."""

    def _emulator_state(self) -> bytes:
        return self.ale.cloneState(include_rng=True).serialize()

    def _restore_emulator_state(self, state: bytes) -> None:
        self.ale.restoreState(ALEState(state))


class ALEEnvironment(Environment):
    """A game through ale-py's own interface; a step is ``frame_skip`` frames.

    The screen after a step is the pixel-wise maximum of its last two frames (sprites
    that flicker between frames stay visible), in luminance, resized to the screen shape.
    """

    frame_skip: int

    def __init__(self, settings: EnvironmentSettings, seed: int = 0, sound: bool = False, random_starts: int = 30,
                 noop_unit: str = "frames", history_length: int = ReplaySettings.history_length) -> None:
        """``sound``: keep each frame's samples, for a window or a video to play."""
        super().__init__(settings, seed, random_starts, noop_unit, history_length)
        if settings.game is None:
            raise ValueError("EnvironmentSettings.game names no game")  # the command line refuses this first
        self.rom_path, self.game = resolve_rom(settings.game)
        self._frame_listeners: list[Callable[[], None]] = []
        repeat_action_probability, frame_pool = settings.repeat_action_probability, settings.frame_pool
        self.name = self.game
        ALEInterface.setLoggerMode(LoggerMode.Error)
        self.ale = ALEInterface()
        self.ale.setInt("random_seed", seed)
        # Unset means none, as in the Nature paper (ALE's own default would be 0.25).
        self.ale.setFloat("repeat_action_probability", repeat_action_probability or 0.0)
        # ALE's phosphor blend of the last two frames is the original simple_dqn's "mean" pooling.
        self.ale.setBool("color_averaging", frame_pool == "mean")
        self.sound = sound
        self.ale.setBool("sound_obs", sound)  # each frame's samples for getAudio, with no sound card needed
        self.ale.loadROM(str(self.rom_path))
        minimal = settings.minimal_action_set
        self.action_set = self.ale.getMinimalActionSet() if minimal else self.ale.getLegalActionSet()
        self.frame_skip = settings.frame_skip
        self.pool_frames = frame_pool == "max"
        self.screen_size = (settings.screen_width, settings.screen_height)  # OpenCV takes (width, height)
        height, width = self.ale.getScreenDims()
        self._frames = np.zeros((2, height, width), dtype=np.uint8)

    def add_frame_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every emulated frame, to record or show it; none listens in training, where
        nothing may slow a step."""
        self._frame_listeners.append(listener)

    def screen_rgb(self) -> np.ndarray:
        """uint8 (210, 160, 3): the frame just emulated, as the console shows it."""
        return self.ale.getScreenRGB()

    def audio(self) -> np.ndarray:
        """The frame's 512 unsigned 8-bit sound samples (with ``sound`` on)."""
        return self.ale.getAudio()

    def num_actions(self) -> int:
        return len(self.action_set)

    def action_names(self) -> list[str]:
        return [action.name for action in self.action_set]

    def new_game(self) -> None:
        self.ale.reset_game()
        for listener in self._frame_listeners:
            listener()
        self.ale.getScreenGrayscale(self._frames[0])
        self._frames[1] = self._frames[0]

    def act(self, action: int) -> float:
        """Repeat the action for ``frame_skip`` frames; the summed, unclipped reward."""
        ale_action = self.action_set[action]
        if self.frame_skip == 1:  # the frame before this step's only one is the last of the previous step
            self._frames[1] = self._frames[0]
        reward = 0
        for frame in range(self.frame_skip):
            reward += self.ale.act(ale_action)
            for listener in self._frame_listeners:
                listener()
            frames_left = self.frame_skip - frame - 1
            if frames_left < 2:
                self.ale.getScreenGrayscale(self._frames[frames_left])
            if self.ale.game_over():
                if frames_left > 0:
                    self._frames[0] = self._frames[1] = self.ale.getScreenGrayscale()
                break
        return float(reward)

    def noop(self, frames: int) -> None:
        if frames == 1:  # the only frame is pooled with the one emulated before it
            self.ale.getScreenGrayscale(self._frames[1])
        for frame in range(frames):
            self.ale.act(Action.NOOP)
            for listener in self._frame_listeners:
                listener()
            frames_left = frames - frame - 1
            if frames_left < 2:
                self.ale.getScreenGrayscale(self._frames[frames_left])
            if self.ale.game_over():
                break

    def get_screen(self) -> np.ndarray:
        screen = np.maximum(self._frames[0], self._frames[1]) if self.pool_frames else self._frames[0]
        return cv2.resize(screen, self.screen_size, interpolation=cv2.INTER_AREA)

    def episode_frames(self) -> int:
        return self.ale.getEpisodeFrameNumber()

    def game_over(self) -> bool:
        return self.ale.game_over()
