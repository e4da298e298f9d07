"""Atari games through ale-py's own interface, preprocessed as in the Nature paper."""

import re
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
from ale_py import Action, ALEInterface, ALEState, LoggerMode, roms

from simple_dqn.dqn.settings import EnvironmentSettings
from simple_dqn.errors import UsageError
from simple_dqn.option import did_you_mean

ROMS_FOLDER = Path(__file__).resolve().parents[3] / "roms"  # the toolkit's roms/, for ROMs of the user's own


def game_id(name: str) -> str:
    """ale-py's spelling of a game name: 'SpaceInvaders', 'space-invaders' -> 'space_invaders'."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return snake.replace("-", "_").replace(" ", "_").lower()


def resolve_rom(game: str) -> tuple[Path, str]:
    """A ROM path and the game's name, from a ROM file or a bare game name.

    A ROM file that exists is used as it is (ale-py checks it is a known game);
    otherwise a ROM of that name in ``roms/``, then the one ale-py ships.
    """
    given = Path(game)
    if given.is_file():
        return given, _supported_game(given)
    name = game_id(given.stem if given.suffix == ".bin" else given.name)
    own = ROMS_FOLDER / f"{name}.bin"
    if own.is_file():
        return own, _supported_game(own)
    known = roms.get_all_rom_ids()
    if name in known:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            shipped = roms.get_rom_path(name)
        if shipped is not None:
            return Path(shipped), name
    hint = did_you_mean(name, known, most=5) or f"ale-py knows {len(known)} games, such as breakout, pong, seaquest"
    raise UsageError(f"unknown game or missing ROM '{game}': {hint}")


def _supported_game(path: Path) -> str:
    name = ALEInterface.isSupportedROM(path)
    if name is None:
        raise UsageError(f"{path} is not a ROM that ale-py supports (its checksum matches no known game)")
    return name


class Environment(ABC):
    """One Atari game, whichever backend runs it; one call to ``act`` is one agent step.

    What ends an episode is the same for both backends: in ``train`` mode a lost life
    ends it for learning while the game goes on; in ``test`` mode only game over, or
    ``max_test_frames`` emulator frames, end it.
    """

    game: str  # ale-py's name of the game: 'breakout'
    ale: ALEInterface  # the emulator, whichever backend drives it
    name: str  # what output files are named after: the game, or a Gymnasium id made safe for paths
    frame_skip: int | list[int]  # frames per agent step, or those a Gymnasium id draws from
    skips_frames_itself = False  # a Gymnasium id with its own frame skip, and no max-pooling

    def __init__(self, settings: EnvironmentSettings) -> None:
        self.terminal_on_life_loss = settings.terminal_on_life_loss
        self.max_test_frames = settings.max_test_frames
        self.mode = "train"
        self._life_lost = False  # by the last step; set by act, cleared by new_game and restart

    @abstractmethod
    def num_actions(self) -> int: ...

    @abstractmethod
    def action_names(self) -> list[str]: ...

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
    def _emulator_game_over(self) -> bool: ...

    def lives(self) -> int:
        return self.ale.lives()

    def sticky_action_probability(self) -> float:
        """What the emulator runs with: the option's value, a protocol's, or a Gymnasium id's own."""
        return self.ale.getFloat("repeat_action_probability")

    def state_dict(self) -> dict:
        """The emulator with its random number generators, so a resumed run plays on exactly as it would have."""
        return {"emulator": torch.frombuffer(bytearray(self._emulator_state()), dtype=torch.uint8)}

    def load_state_dict(self, state: dict) -> None:
        self._restore_emulator_state(state["emulator"].numpy().tobytes())

    def _emulator_state(self) -> bytes:
        return self.ale.cloneState(include_rng=True).serialize()

    def _restore_emulator_state(self, state: bytes) -> None:
        self.ale.restoreState(ALEState(state))

    def episode_state(self) -> dict | None:
        """What a game in progress needs besides the emulator's state to go on exactly in a resumed run; None
        where it cannot go on, and the resumed phase begins a new game."""
        return {"life_lost": self._life_lost}

    def restore_episode_state(self, state: dict) -> None:
        if not isinstance(state.get("life_lost"), bool):
            raise UsageError("the snapshot is damaged: the game it stopped in cannot be read")
        self._life_lost = state["life_lost"]

    def set_mode(self, mode: str) -> None:
        """``train`` or ``test``: decides what ends an episode (see the class docstring)."""
        if mode not in ("train", "test"):
            raise ValueError(f"mode must be 'train' or 'test', not {mode!r}")
        self.mode = mode

    def restart(self) -> bool:
        """Begin the next episode; True when that needed a new game (not just the next life)."""
        if self.mode == "train" and self._life_lost and not self.is_game_over():
            self._life_lost = False
            return False
        self.new_game()
        return True

    def is_game_over(self) -> bool:
        capped = self.mode == "test" and 0 < self.max_test_frames <= self.episode_frames()
        return capped or self._emulator_game_over()

    def is_terminal(self) -> bool:
        life_loss_ends = self.mode == "train" and self.terminal_on_life_loss and self._life_lost
        return life_loss_ends or self.is_game_over()


class ALEEnvironment(Environment):
    """A game through ale-py's own interface; a step is ``frame_skip`` frames.

    The screen after a step is the pixel-wise maximum of its last two frames (sprites
    that flicker between frames stay visible), in luminance, resized to the screen shape.
    """

    frame_skip: int

    def __init__(self, settings: EnvironmentSettings, seed: int = 0, sound: bool = False) -> None:
        super().__init__(settings)
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
        self._life_lost = False
        self.ale.getScreenGrayscale(self._frames[0])
        self._frames[1] = self._frames[0]

    def act(self, action: int) -> float:
        """Repeat the action for ``frame_skip`` frames; the summed, unclipped reward."""
        ale_action = self.action_set[action]
        lives = self.ale.lives()
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
        self._life_lost = self.ale.lives() < lives
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

    def _emulator_game_over(self) -> bool:
        return self.ale.game_over()
