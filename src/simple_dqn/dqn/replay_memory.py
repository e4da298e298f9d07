"""Circular experience replay that stores every screen exactly once.

Entry ``i`` holds the screen the agent chose action ``i`` on, that action, the
reward it earned and whether the episode ended after it.  A state is rebuilt
from ``history_length`` consecutive screens, so one 84x84 screen per transition
is all the memory needs (about 7 KB), instead of a four-screen stack per state.

Several games played at once (``--num_envs``) each keep a stream of their own in
one ring: entries are interleaved, so stream ``k``'s consecutive transitions lie
``streams`` entries apart and every "one step" of a stream is ``streams`` entries.
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
    """Transitions of ``n`` agent steps (``--n_step``; 1, the paper's, unless asked): a state, the action taken
    on it, the rewards of the ``n`` steps from it and the state ``n`` steps later.  With one step, prestates and
    poststates are views into one array of the screens they share."""

    prestates: np.ndarray  # uint8 (batch, history, height, width)
    actions: np.ndarray  # int64 (batch,)
    rewards: np.ndarray  # float32 (batch, n), unclipped, 0 after the episode ended
    reward_steps: np.ndarray  # int64 (batch,): how many of the rewards count, n unless the episode ended sooner
    poststates: np.ndarray  # uint8 (batch, history, height, width); of no account after a terminal
    terminals: np.ndarray  # bool (batch,): the episode ended within the n steps


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
                       seed: int | np.random.SeedSequence | None, streams: int = 1) -> "ReplayMemory":
    """The memory the settings ask for, with a stream for each of ``streams`` games played at once, once it is
    known to fit in this machine's memory; it says its size."""
    compress = settings.replay_compress
    check_fits_in_memory(settings.replay_size, screen_shape, compress)
    memory = ReplayMemory(settings.replay_size, screen_shape, settings.history_length, batch_size, seed, compress,
                          streams, settings.n_step)
    size, in_streams = memory.size, f" in {streams} streams" if streams > 1 else ""
    if compress:
        log.info("replay memory: %d transitions%s, screens compressed (planned for %.2f GB when full; "
                 "most games need far less)", size, in_streams, size * bytes_per_transition(screen_shape, True) / 1e9)
    else:
        log.info("replay memory: %d transitions%s of %d bytes each, %.2f GB when full", size, in_streams,
                 bytes_per_transition(screen_shape), memory.nbytes / 1e9)
    return memory


class ReplayMemory:
    """Uniform replay over a ring buffer of screens, in ``streams`` interleaved streams.

    Entry ``g`` belongs to stream ``g % streams``, and all streams are written together,
    so the write pointer and the count stay multiples of ``streams`` and a stream's
    neighbours in time are ``streams`` entries away.  Each entry records whether it
    begins an episode, so a state knows where its episode began from its own stream's
    entries, which are never older than it.  The sampler (``_valid``) enforces:

    * a state never mixes games or episodes: screens from before the first screen of
      its episode are zero, as in DeepMind's code;
    * an entry is sampled only with a successor in its own episode (its poststate)
      or when it is terminal, so each stream's newest entry and an entry whose episode
      was cut short (``truncate_episode``) are never sampled; with ``n_step`` steps,
      so is each of the entries after it, until one ends the episode;
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
        streams: int = 1,
        n_step: int = 1,
    ) -> None:
        """``size`` is rounded down to a multiple of ``streams``, so every stream holds as many entries; ``n_step``:
        the agent steps a transition spans (multi-step returns)."""
        per_stream = size // streams
        if per_stream <= history_length:
            if streams == 1:
                raise UsageError(f"--replay_size must be larger than --history_length ({history_length}), got {size}")
            raise UsageError(f"--replay_size {size} shared by --num_envs {streams} games leaves {per_stream} "
                             f"transitions per game, which must be more than --history_length ({history_length}): "
                             f"use --replay_size {(history_length + 1) * streams} or more")
        self.size = per_stream * streams
        self.streams = streams
        self.screen_shape = screen_shape
        self.history_length = history_length
        self.batch_size = batch_size
        self.n_step = n_step
        self.compressed = compress
        self.rng = np.random.default_rng(seed)
        self.clear()
        # How many entries back each screen of a state lies from its newest one: 0, 1, ..., history_length - 1
        # steps of its stream, each ``streams`` entries.
        self._history_back = np.arange(history_length) * streams
        # Where the screens of a state lie relative to its newest one, with the next screen too or without it.
        self._window = np.arange(-(history_length - 1), 2) * streams
        self._state = self._window[:-1]
        # The entries of a transition's n steps, from the state's own: their rewards, and whether each ended it.
        self._steps = np.arange(n_step) * streams

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
        self.episode_ended = np.ones(self.streams, dtype=bool)  # so each stream's next entry begins an episode

    def state_dict(self) -> dict:
        """The random generator, which a snapshot keeps; the transitions are ``contents``, saved beside it."""
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.rng.bit_generator.state = state["rng"]

    def contents(self) -> dict:
        """The transitions: counters, and arrays that are the memory's own where they can be (all but compressed
        screens, which are joined into one buffer), so a caller may read a saved memory straight into them.

        ``episode_ended`` is a bool with one stream, as it always was, and a list of a bool per stream with more."""
        episode_ended = bool(self.episode_ended[0]) if self.streams == 1 else self.episode_ended.tolist()
        return {"counters": {"count": self.count, "current": self.current, "episode_ended": episode_ended},
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
        streams = self.streams
        ended = [episode_ended] if streams == 1 else episode_ended
        if not (isinstance(ended, list) and len(ended) == streams and all(isinstance(e, bool) for e in ended)):
            raise ValueError(f"episode_ended is not {'a bool' if streams == 1 else f'a list of {streams} bools'}")
        if not (0 <= count <= self.size and 0 <= current < self.size and count % streams == current % streams == 0):
            raise ValueError("the counters lie outside the memory or between its streams")
        self.count, self.current, self.episode_ended = count, current, np.array(ended, dtype=bool)

    def distinct_states(self, count: int) -> np.ndarray | None:
        """The prestates of up to ``count`` different valid transitions, drawn with the memory's own generator;
        None while none can be sampled."""
        valid = self.valid_indices()
        if len(valid) == 0:
            return None
        return self.transitions(self.rng.choice(valid, size=min(count, len(valid)), replace=False)).prestates

    def add(self, screen: np.ndarray, action: int | np.ndarray, reward: float | np.ndarray,
            terminal: bool | np.ndarray) -> None:
        """Store one transition of every game, stream ``k``'s at index ``k`` (screens (streams, height, width), arrays
        (streams,); with one stream a screen and scalars will do).  ``screen`` is the newest of the state acted on,
        not of the one the action led to, so replay rebuilds exactly the state acted on; ``terminal``: the episode
        ended after the action."""
        streams = self.streams
        entries = slice(self.current, self.current + streams)  # never wraps: the ring is a multiple of streams
        self.screens[entries] = screen if screen.ndim == 3 else screen[np.newaxis]
        self.actions[entries] = action
        self.rewards[entries] = reward
        self.terminals[entries] = terminal
        self.episode_starts[entries] = self.episode_ended
        self.episode_ended[:] = terminal
        self.current = (self.current + streams) % self.size
        self.count = min(self.count + streams, self.size)

    def truncate_episode(self) -> None:
        """The agent abandoned the episodes (a phase ended, for every game at once): each stream's next entry
        begins a new one."""
        self.episode_ended[:] = True

    @property
    def nbytes(self) -> int:
        """Bytes held now; all of them from the start unless the screens are compressed."""
        return sum(a.nbytes for a in (self.screens, self.actions, self.rewards, self.terminals, self.episode_starts))

    def projected_nbytes(self) -> int:
        """Bytes it will hold when full, at the compression its screens have had so far."""
        return self.nbytes - self.screens.nbytes + self.screens.nbytes_when_full(self.count)

    def get_state(self, index: int) -> np.ndarray:
        """The state ending at ``index``, oldest screen first, zeros before its episode began."""
        return self._windows(np.array([index % self.size]), self._state)[0]

    def get_minibatch(self) -> Minibatch:
        """A uniform sample of ``batch_size`` valid transitions (with replacement, as DeepMind's)."""
        return self.transitions(self.sample_indices(self.batch_size))

    def transitions(self, indices: np.ndarray) -> Minibatch:
        """The transitions at valid ``indices`` (from ``sample_indices``)."""
        steps = (indices[:, None] + self._steps) % self.size
        ended = np.logical_or.accumulate(self.terminals[steps], axis=1)
        counted = np.ones_like(ended)
        counted[:, 1:] = ~ended[:, :-1]  # a step counts until one has ended the episode
        if self.n_step == 1:
            windows = self._windows(indices, self._window)
            prestates, poststates = windows[:, :-1], windows[:, 1:]
        else:
            prestates = self._windows(indices, self._state)
            poststates = self._windows((indices + self.n_step * self.streams) % self.size, self._state)
        return Minibatch(
            prestates=prestates,
            actions=self.actions[indices].astype(np.int64),
            rewards=np.where(counted, self.rewards[steps], np.float32(0)),
            reward_steps=counted.sum(axis=1),
            poststates=poststates,
            terminals=ended[:, -1],
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
        streams = self.streams
        oldest = self.current if self.count == self.size else 0  # stream 0's: age % streams is the stream
        age = (indices - oldest) % self.size  # how many kept entries are older
        # Each of the n steps needs the entry after it, kept and in the same episode, unless it or an earlier step
        # ended the episode; the first needs one kept in any case (the newest entries of the streams, the last
        # ``streams`` kept, are never sampled).
        after = indices[:, None] + self._steps + streams
        kept = age[:, None] + self._steps + streams < self.count
        continues = kept & ~self.episode_starts[after % self.size]
        ended = np.logical_or.accumulate(self.terminals[(after - streams) % self.size], axis=1)
        valid = kept[:, 0] & (ended | continues).all(axis=1)
        own_older = age // streams  # how many kept entries of its own stream are older
        short = own_older < self.history_length - 1
        if short.any():
            # Screens older than its stream's oldest kept entry are gone: such a state is
            # complete only if its episode began within the kept entries.
            short_older = own_older[short]
            boundaries = self._episode_boundaries(indices[short])
            valid[short] &= boundaries[np.arange(short_older.size), short_older]
        return valid

    def _episode_boundaries(self, newest: np.ndarray) -> np.ndarray:
        """(batch, history - 1): does the screen 1, 2, ... steps of its stream before ``newest`` belong to an
        earlier episode?"""
        starts = self.episode_starts[(newest[:, None] - self._history_back[None, :-1]) % self.size]
        return np.logical_or.accumulate(starts, axis=1)

    def _windows(self, newest: np.ndarray, window: np.ndarray) -> np.ndarray:
        """(batch, len(window), height, width): the state ending at ``newest``, and the next screen too where
        ``window`` is ``_window`` rather than ``_state``.

        Screens of episodes before the one ``newest`` belongs to are blanked.
        """
        positions = (newest[:, None] + window) % self.size
        windows = self.screens.gather(positions)
        earlier = self._episode_boundaries(newest)[:, ::-1]
        if earlier.any():
            windows[:, :self.history_length - 1][earlier] = 0
        return windows
