"""What the phase loop drives: N >= 1 games of one environment stepped together, however they are emulated.

One game through ale-py's own interface or a Gymnasium id (``environment.py``) is a batch of one;
several through ale-py's vector environment (``vector_environment.py``) a batch of N.  Each kind
only emulates: what ends an episode, what begins the next one and the states acted on are decided
here, once for all of them.
"""

from abc import ABC, abstractmethod
from typing import NamedTuple

import numpy as np

from simple_dqn.dqn.settings import EnvironmentSettings, ReplaySettings
from simple_dqn.dqn.state_buffer import StateBuffer
from simple_dqn.errors import UsageError

MODES = ("train", "test")


class Step(NamedTuple):
    """What one agent step of every game gave, each array with one entry per game."""

    rewards: np.ndarray  # float, summed over the step's frames, unclipped
    terminals: np.ndarray  # bool: the episode ended after the step (for learning)
    game_overs: np.ndarray  # bool: the game itself ended (or reached the test frame cap)
    episode_frames: np.ndarray  # int: emulator frames since each game began


class Emulated(NamedTuple):
    """What the emulator alone tells of a step, before the rules of an episode's end are applied."""

    rewards: np.ndarray
    game_overs: np.ndarray
    lives_lost: np.ndarray
    episode_frames: np.ndarray


class Games(ABC):
    """``count`` games of one ROM: ``send`` the actions, do other work, ``receive`` what they gave, then
    ``begin_next``.

    In ``train`` mode a lost life ends an episode for learning (``terminal_on_life_loss``) while the game
    goes on with its next life; in ``test`` mode only game over, or ``max_test_frames`` emulator frames,
    end it.  A new game begins with no-op frames, the kind's own way (``_begin_games``).
    """

    game: str  # ale-py's name of the game: 'breakout'
    name: str  # what output files are named after: the game, or a Gymnasium id made safe for paths
    frame_skip: int | list[int]  # frames per agent step, or those a Gymnasium id draws from
    skips_frames_itself = False  # a Gymnasium id with its own frame skip, and no max-pooling
    can_continue_episodes = True  # whether a game in progress can go on in a resumed run

    def __init__(self, settings: EnvironmentSettings, count: int, seed: int | None,
                 history_length: int = ReplaySettings.history_length) -> None:
        """``seed``: of the generator that draws how new games begin (no-op starts, or the games' seeds)."""
        self.count = count
        self.terminal_on_life_loss = settings.terminal_on_life_loss
        self.max_test_frames = settings.max_test_frames
        self.mode = "train"
        self.rng = np.random.default_rng(seed)
        self.state_buffer = StateBuffer(count, history_length, settings.screen_shape)
        self._lives_lost = np.zeros(count, dtype=bool)  # by the last step; cleared as the next episode begins

    @abstractmethod
    def num_actions(self) -> int: ...

    @abstractmethod
    def action_names(self) -> list[str]: ...

    @abstractmethod
    def sticky_action_probability(self) -> float:
        """What the emulator runs with: the option's value, a protocol's, or a Gymnasium id's own."""

    @abstractmethod
    def send(self, actions: np.ndarray) -> None:
        """Start one agent step of every game with its action (indices into the action set)."""

    @abstractmethod
    def _receive(self) -> Emulated:
        """Wait for the step ``send`` started."""

    @abstractmethod
    def screens(self) -> np.ndarray:
        """uint8 (count, height, width): each game's preprocessed screen after the last step."""

    @abstractmethod
    def _begin_games(self, which: np.ndarray, phase_start: bool) -> None:
        """Begin a new game, with its no-op start, in the slots ``which``; ``phase_start``: every slot, as a phase
        begins."""

    @abstractmethod
    def state_dict(self) -> dict:
        """What a resumed run needs to emulate on exactly as this one would have."""

    @abstractmethod
    def load_state_dict(self, state: dict) -> None: ...

    def states(self) -> np.ndarray:
        """uint8 (count, history_length, height, width): the state of each game, as the agent acts on it; a view
        that ``begin_next`` changes."""
        return self.state_buffer.states()

    def set_mode(self, mode: str) -> None:
        """``train`` or ``test``: decides what ends an episode (see the class docstring)."""
        if mode not in MODES:
            raise ValueError(f"mode must be 'train' or 'test', not {mode!r}")
        self.mode = mode

    def new_games(self) -> None:
        """Every slot begins a new game, and its first state: how a phase begins."""
        every = np.ones(self.count, dtype=bool)
        self._begin_games(every, phase_start=True)
        self._lives_lost[:] = False
        self.state_buffer.start_episodes(every, self.screens())

    def receive(self) -> Step:
        """What the step ``send`` started gave, with the ends of episodes decided as the class docstring says."""
        emulated = self._receive()
        game_overs = self._over(emulated.game_overs, emulated.episode_frames)
        life_loss_ends = self.mode == "train" and self.terminal_on_life_loss
        self._lives_lost = emulated.lives_lost
        return Step(emulated.rewards, game_overs | (emulated.lives_lost & life_loss_ends), game_overs,
                    emulated.episode_frames)

    def _over(self, game_overs: np.ndarray, episode_frames: np.ndarray) -> np.ndarray:
        """The games over: by the emulator's word, or in test mode at ``max_test_frames`` frames."""
        if self.mode != "test" or self.max_test_frames == 0:
            return game_overs
        return game_overs | (episode_frames >= self.max_test_frames)

    def begin_next(self, step: Step) -> None:
        """Each game's screen after ``step`` goes onto its state, unless its episode ended: then it begins the next
        one, with the next life where only a life was lost in training, else with a new game."""
        screens = self.screens()
        self.state_buffer.add(~step.terminals, screens)
        if step.terminals.any():
            self._restart(step)
            self.state_buffer.start_episodes(step.terminals, self.screens())

    def _restart(self, step: Step) -> None:
        ended = step.terminals
        new_game = ended & (step.game_overs | (self.mode != "train") | ~self._lives_lost)
        self._lives_lost[ended] = False
        if new_game.any():
            self._begin_games(new_game, phase_start=False)

    def episode_state(self) -> dict | None:
        """What the games in progress need, besides ``state_dict``, to go on exactly in a resumed run; None where
        they cannot, and the resumed phase begins new games."""
        if not self.can_continue_episodes:
            return None
        return {"mode": self.mode, "lives_lost": self._lives_lost.tolist(),
                "screens": self.state_buffer.screens.copy()}

    def continue_episodes(self, state: dict) -> None:
        """Go on with the games a stopped run was in, as ``episode_state`` gave them."""
        screens, lives_lost = state.get("screens"), state.get("lives_lost")
        if state.get("mode") not in MODES or not isinstance(lives_lost, list) or not isinstance(screens, np.ndarray):
            raise UsageError("the snapshot is damaged: the games it stopped in cannot be read")
        if screens.shape != self.state_buffer.screens.shape or len(lives_lost) != self.count:
            raise UsageError(f"the snapshot stopped in games of {tuple(screens.shape)} screens, not "
                             f"{self.state_buffer.screens.shape}: resume with the run's own --num_envs")
        self.set_mode(state["mode"])
        self._rebuild_games()
        self._lives_lost = np.array(lives_lost, dtype=bool)
        self.state_buffer.screens[...] = screens

    @abstractmethod
    def _rebuild_games(self) -> None:
        """Bring back the games in progress, once ``load_state_dict`` has restored what it keeps."""
