"""Circular experience replay that stores every screen exactly once.

Entry ``i`` holds the screen the agent chose action ``i`` on, that action, the
reward it earned and whether the episode ended after it.  A state is rebuilt
from ``history_length`` consecutive screens, so one 84x84 screen per transition
is all the memory needs (about 7 KB), instead of a four-screen stack per state.
"""

import logging
from typing import NamedTuple

import numpy as np
import psutil

from simple_dqn.dqn.screen_storage import (
    COMPRESSED_FRACTION_BOUND,
    COMPRESSED_OVERHEAD_BYTES,
    CompressedScreens,
    ScreenArray,
)
from simple_dqn.dqn.settings import EnvironmentSettings, NetworkSettings, ReplaySettings
from simple_dqn.errors import UsageError

log = logging.getLogger(__name__)


class Minibatch(NamedTuple):
    """Prestates and poststates are views into one array of the screens they share."""

    prestates: np.ndarray  # uint8 (batch, history, height, width)
    actions: np.ndarray  # int64 (batch,)
    rewards: np.ndarray  # float32 (batch,), unclipped
    poststates: np.ndarray  # uint8 (batch, history, height, width)
    terminals: np.ndarray  # bool (batch,)


def bytes_per_transition(screen_shape: tuple[int, int], compress: bool = False) -> int:
    """Screen, action (uint8), reward (float32), and the terminal and episode-start flags.

    Compressed, the screen's share is a bound, not a measure: most games need far less.
    """
    screen = int(np.prod(screen_shape))
    if compress:
        screen = int(screen * COMPRESSED_FRACTION_BOUND) + COMPRESSED_OVERHEAD_BYTES
    return screen + 1 + 4 + 1 + 1


def check_fits_in_memory(size: int, screen_shape: tuple[int, int], compress: bool = False) -> None:
    """Refuse before training starts, rather than die of swapping days later."""
    per_transition = bytes_per_transition(screen_shape, compress)
    needed = size * per_transition
    available = psutil.virtual_memory().available
    if needed > available:
        fitting = int(available * 0.9) // per_transition
        hint = "" if compress else " or --replay_compress true"
        raise UsageError(
            f"--replay_size {size} needs {needed / 1e9:.1f} GB of memory but only "
            f"{available / 1e9:.1f} GB are free; try --replay_size {fitting} or less{hint}"
        )


def make_replay_memory(settings: ReplaySettings, screen_shape: tuple[int, int], batch_size: int,
                       seed: int | np.random.SeedSequence | None) -> "ReplayMemory":
    """The memory the settings ask for, once it is known to fit in this machine's memory; it says its size."""
    size, compress = settings.replay_size, settings.replay_compress
    check_fits_in_memory(size, screen_shape, compress)
    memory = ReplayMemory(size, screen_shape, settings.history_length, batch_size, seed, compress)
    if compress:
        log.info("replay memory: %d transitions, screens compressed (planned for %.2f GB when full; "
                 "most games need far less)", size, size * bytes_per_transition(screen_shape, True) / 1e9)
    else:
        log.info("replay memory: %d transitions of %d bytes each, %.2f GB when full", size,
                 bytes_per_transition(screen_shape), memory.nbytes / 1e9)
    return memory


class ReplayMemory:
    """Uniform replay over a ring buffer of screens.

    Each entry records whether it begins an episode, so a state knows where its
    episode began from its own entries, which are never older than it.  The sampler
    (``_valid``) enforces:

    * a state never mixes episodes: screens from before the first screen of its
      episode are zero, as in DeepMind's code;
    * an entry is sampled only with a successor in its own episode (its poststate)
      or when it is terminal, so the newest entry and an entry whose episode was cut
      short (``truncate_episode``) are never sampled;
    * once the ring has wrapped, an entry whose state would need screens older than
      the oldest one kept is never sampled: they were overwritten by the newest ones.

    A transition's prestate and poststate share all screens but one, so a minibatch
    gathers ``history_length + 1`` screens per transition, once.  The one exception to
    the first rule: a terminal transition's poststate ends with the next episode's
    first screen.  Its value counts for nothing (no future after a terminal), so it is
    left as gathered rather than gathered apart.
    """

    def __init__(
        self,
        size: int,
        screen_shape: tuple[int, int] = EnvironmentSettings().screen_shape,
        history_length: int = ReplaySettings.history_length,
        batch_size: int = NetworkSettings.batch_size,
        seed: int | np.random.SeedSequence | None = None,
        compress: bool = False,
    ) -> None:
        if size <= history_length:
            raise UsageError(f"--replay_size must be larger than --history_length ({history_length}), got {size}")
        self.size = size
        self.screen_shape = screen_shape
        self.history_length = history_length
        self.batch_size = batch_size
        self.compressed = compress
        self.rng = np.random.default_rng(seed)
        self.clear()
        # How far back each screen of a state lies from its newest one: 0, 1, ..., history_length - 1.
        self._history_back = np.arange(history_length)
        # Where the screens of a state and of its successor lie relative to the state's newest one.
        self._window = np.arange(-(history_length - 1), 2)

    def clear(self) -> None:
        """Forget every transition (the random generator goes on)."""
        size, shape = self.size, self.screen_shape
        self.screens = CompressedScreens(size, shape) if self.compressed else ScreenArray(size, shape)
        self.actions = np.zeros(size, dtype=np.uint8)
        self.rewards = np.zeros(size, dtype=np.float32)
        self.terminals = np.zeros(size, dtype=bool)
        self.episode_starts = np.zeros(size, dtype=bool)
        self.count = 0
        self.current = 0
        self.episode_ended = True  # so the next entry added begins an episode

    def state_dict(self) -> dict:
        """The random generator, which a snapshot keeps; the transitions are ``contents``, saved beside it."""
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]

    def contents(self) -> dict:
        """The transitions: counters, and arrays that are the memory's own where they can be (all but compressed
        screens, which are joined into one buffer), so a caller may read a saved memory straight into them."""
        return {"counters": {"count": self.count, "current": self.current, "episode_ended": self.episode_ended},
                "arrays": {"actions": self.actions, "rewards": self.rewards, "terminals": self.terminals,
                           "episode_starts": self.episode_starts},
                "screens": self.screens.contents()}

    def load_contents(self, contents: dict) -> None:
        """Take back what ``contents`` gave; an array that already is the memory's own (filled in place) is not
        copied again.  Raises ValueError for contents that do not fit this memory."""
        for name, array in contents["arrays"].items():
            own = getattr(self, name)
            if array is not own:
                if array.shape != own.shape or array.dtype != own.dtype:
                    raise ValueError(f"{name} of shape {array.shape} and type {array.dtype}, not {own.shape} "
                                     f"and {own.dtype}")
                own[...] = array
        self.screens.load_contents(contents["screens"])
        count, current, episode_ended = (contents["counters"][name] for name in ("count", "current", "episode_ended"))
        if not (0 <= count <= self.size and 0 <= current < self.size and isinstance(episode_ended, bool)):
            raise ValueError("the counters lie outside the memory")
        self.count, self.current, self.episode_ended = count, current, episode_ended

    def distinct_states(self, count: int) -> np.ndarray | None:
        """The prestates of up to ``count`` different valid transitions, drawn with the memory's own generator;
        None while none can be sampled."""
        valid = self.valid_indices()
        if len(valid) == 0:
            return None
        return self.transitions(self.rng.choice(valid, size=min(count, len(valid)), replace=False)).prestates

    def add(self, screen: np.ndarray, action: int, reward: float, terminal: bool) -> None:
        """Store one transition.

        ``screen`` is the newest screen of the state the action was chosen on (not the one
        the action led to), so the state acted on is exactly the one replay rebuilds;
        ``terminal`` means the episode ended after the action.
        """
        self.screens[self.current] = screen
        self.actions[self.current] = action
        self.rewards[self.current] = reward
        self.terminals[self.current] = terminal
        self.episode_starts[self.current] = self.episode_ended
        self.episode_ended = terminal
        self.current = (self.current + 1) % self.size
        self.count = min(self.count + 1, self.size)

    def truncate_episode(self) -> None:
        """The agent abandoned the episode (a phase ended): the next entry begins a new one."""
        self.episode_ended = True

    @property
    def nbytes(self) -> int:
        """Bytes held now; all of them from the start unless the screens are compressed."""
        return sum(a.nbytes for a in (self.screens, self.actions, self.rewards, self.terminals, self.episode_starts))

    def projected_nbytes(self) -> int:
        """Bytes it will hold when full, at the compression its screens have had so far."""
        return self.nbytes - self.screens.nbytes + self.screens.nbytes_when_full(self.count)

    def get_state(self, index: int) -> np.ndarray:
        """The state ending at ``index``, oldest screen first, zeros before its episode began."""
        return self._windows(np.array([index % self.size]))[0, :-1]

    def get_minibatch(self) -> Minibatch:
        """A uniform sample of ``batch_size`` valid transitions (with replacement, as DeepMind's)."""
        return self.transitions(self.sample_indices(self.batch_size))

    def transitions(self, indices: np.ndarray) -> Minibatch:
        """The transitions at valid ``indices`` (from ``sample_indices``)."""
        windows = self._windows(indices)
        return Minibatch(
            prestates=windows[:, :-1],
            actions=self.actions[indices].astype(np.int64),
            rewards=self.rewards[indices],
            poststates=windows[:, 1:],
            terminals=self.terminals[indices],
        )

    def sample_indices(self, count: int) -> np.ndarray:
        """Uniform over valid indices: draw from all entries and reject the invalid few."""
        chosen = np.empty(0, dtype=np.int64)
        while chosen.size < count:
            candidates = self.rng.integers(0, max(self.count, 1), size=2 * (count - chosen.size))
            valid = candidates[self._valid(candidates)]
            if valid.size == 0 and self.valid_indices().size == 0:
                raise ValueError("no transition in replay memory can be sampled yet")
            chosen = np.concatenate([chosen, valid])
        return chosen[:count]

    def valid_indices(self) -> np.ndarray:
        """Every index a minibatch may hold now."""
        return np.flatnonzero(self._valid(np.arange(self.count)))

    def _valid(self, indices: np.ndarray) -> np.ndarray:
        oldest = self.current if self.count == self.size else 0
        age = (indices - oldest) % self.size  # how many kept entries are older
        successor_starts_episode = self.episode_starts[(indices + 1) % self.size]
        valid = (age < self.count - 1) & (self.terminals[indices] | ~successor_starts_episode)
        short = age < self.history_length - 1
        if short.any():
            # Screens older than the oldest kept entry are gone: such a state is complete
            # only if its episode began within the kept entries.
            short_age = age[short]
            boundaries = self._episode_boundaries(indices[short])
            valid[short] &= boundaries[np.arange(short_age.size), short_age]
        return valid

    def _episode_boundaries(self, newest: np.ndarray) -> np.ndarray:
        """(batch, history - 1): does the screen 1, 2, ... steps before ``newest`` belong to an earlier episode?"""
        starts = self.episode_starts[(newest[:, None] - self._history_back[None, :-1]) % self.size]
        return np.logical_or.accumulate(starts, axis=1)

    def _windows(self, newest: np.ndarray) -> np.ndarray:
        """(batch, history + 1, height, width): the state ending at ``newest`` and the next screen.

        Screens of episodes before the one ``newest`` belongs to are blanked.
        """
        positions = (newest[:, None] + self._window) % self.size
        windows = self.screens.gather(positions)
        earlier = self._episode_boundaries(newest)[:, ::-1]
        if earlier.any():
            windows[:, :-2][earlier] = 0
        return windows
