"""Replay memory against a plain list of everything added, over random episodes that wrap many times."""

import resource
import sys
from dataclasses import dataclass

import lz4.block
import numpy as np
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simple_dqn.dqn.allocator import keep_freed_memory
from simple_dqn.dqn.environment import ALEEnvironment
from simple_dqn.dqn.replay_memory import ReplayMemory, bytes_per_transition, check_fits_in_memory
from simple_dqn.dqn.settings import EnvironmentSettings
from simple_dqn.errors import UsageError

SHAPE = (2, 3)


def screen_of(number: int) -> np.ndarray:
    """A screen that names its transition: numbers start at 1, so an all-zero screen is padding."""
    screen = np.zeros(SHAPE, dtype=np.uint8)
    screen[0, 0], screen[0, 1] = number % 256, number // 256
    return screen


@dataclass
class Added:
    number: int
    episode: int
    terminal: bool
    truncated: bool = False


class Reference:
    """Everything ever added, in order, and the states it implies."""

    def __init__(self, history_length: int) -> None:
        self.history_length = history_length
        self.added: list[Added] = []

    def state(self, position: int) -> np.ndarray:
        newest = self.added[position]
        frames = []
        for back in range(self.history_length - 1, -1, -1):
            earlier = position - back
            same_episode = earlier >= 0 and self.added[earlier].episode == newest.episode
            frames.append(screen_of(self.added[earlier].number) if same_episode else np.zeros(SHAPE, np.uint8))
        return np.stack(frames)

    def sampleable(self, position: int, kept_from: int) -> bool:
        """Not the newest, not cut short, and its state's screens of its own episode still kept."""
        transition = self.added[position]
        if position == len(self.added) - 1 or transition.truncated:
            return False
        episode_start = next(p for p in range(position, -1, -1)
                             if p == 0 or self.added[p - 1].episode != transition.episode)
        return max(position - self.history_length + 1, episode_start) >= kept_from


def fill(memory: ReplayMemory, reference: Reference, episodes: list[tuple[int, bool]]) -> None:
    """Add episodes of the given lengths; each ends terminal or, if not, cut short (truncated)."""
    for episode, (length, terminal_end) in enumerate(episodes):
        for step in range(length):
            number = len(reference.added) + 1
            terminal = terminal_end and step == length - 1
            memory.add(screen_of(number), action=number % 7, reward=float(number), terminal=terminal)
            reference.added.append(Added(number, episode, terminal))
        if not terminal_end:
            memory.truncate_episode()
            reference.added[-1].truncated = True


def position_of(memory: ReplayMemory, reference: Reference, index: int) -> int:
    """Which transition of the reference the memory slot ``index`` holds now."""
    total = len(reference.added)
    return max(p for p in range(total - memory.count, total) if p % memory.size == index)


episodes_strategy = st.lists(st.tuples(st.integers(1, 12), st.booleans()), min_size=1, max_size=40)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "compressed"])
@settings(max_examples=100, deadline=None)
@given(size=st.integers(6, 40), history_length=st.integers(1, 5), episodes=episodes_strategy,
       seed=st.integers(0, 2**32 - 1))
def test_every_sample_equals_the_states_rebuilt_from_what_was_added(compress, size, history_length, episodes, seed):
    memory = ReplayMemory(size, SHAPE, history_length, batch_size=8, seed=seed, compress=compress)
    reference = Reference(history_length)
    fill(memory, reference, episodes)
    kept_from = len(reference.added) - memory.count
    if not any(reference.sampleable(p, kept_from) for p in range(kept_from, len(reference.added))):
        return
    indices = memory.sample_indices(memory.batch_size)
    batch = memory.transitions(indices)
    for k, index in enumerate(indices):
        position = position_of(memory, reference, index)
        transition = reference.added[position]
        assert reference.sampleable(position, kept_from)
        np.testing.assert_array_equal(batch.prestates[k], reference.state(position))
        assert batch.actions[k] == transition.number % 7
        assert batch.rewards[k] == transition.number
        assert batch.terminals[k] == transition.terminal
        if not transition.terminal:
            np.testing.assert_array_equal(batch.poststates[k], reference.state(position + 1))


@settings(max_examples=80, deadline=None)
@given(size=st.integers(6, 30), history_length=st.integers(1, 4), episodes=episodes_strategy)
def test_exactly_the_valid_transitions_are_sampled(size, history_length, episodes):
    """No sample straddles the write pointer or lost history, and every other transition can be drawn."""
    memory = ReplayMemory(size, SHAPE, history_length, seed=0)
    reference = Reference(history_length)
    fill(memory, reference, episodes)
    kept_from = len(reference.added) - memory.count
    expected = {p % size for p in range(kept_from, len(reference.added)) if reference.sampleable(p, kept_from)}
    if not expected:
        return
    drawn = set(memory.sample_indices(200 * size).tolist())
    assert drawn == expected


@settings(max_examples=60, deadline=None)
@given(size=st.integers(6, 40), history_length=st.integers(1, 5), episodes=episodes_strategy,
       seed=st.integers(0, 2**32 - 1))
def test_compressed_and_plain_screens_give_identical_minibatches(size, history_length, episodes, seed):
    plain, compressed = (ReplayMemory(size, SHAPE, history_length, batch_size=8, seed=seed, compress=compress)
                         for compress in (False, True))
    for memory in (plain, compressed):
        fill(memory, Reference(history_length), episodes)
    if plain.valid_indices().size == 0:
        return
    for _ in range(3):
        for plain_part, compressed_part in zip(plain.get_minibatch(), compressed.get_minibatch(), strict=True):
            np.testing.assert_array_equal(plain_part, compressed_part)


def fill_with_atari_screens(memory: ReplayMemory, game: str) -> list[np.ndarray]:
    """Random play; returns the screens added, in order."""
    environment, screens = ALEEnvironment(EnvironmentSettings(game=game), seed=1), []
    rng = np.random.default_rng(1)
    environment.new_game()
    for _ in range(memory.size):
        screens.append(environment.get_screen())
        memory.add(screens[-1], 0, environment.act(int(rng.integers(environment.num_actions()))), False)
    return screens


def test_compressed_atari_screens_come_back_unchanged_in_under_1500_bytes_per_transition_on_average():
    sizes = []
    for game in ("breakout", "pong", "seaquest", "space_invaders"):
        memory = ReplayMemory(300, compress=True)
        screens = np.stack(fill_with_atari_screens(memory, game))
        for index in range(3, memory.size):
            np.testing.assert_array_equal(memory.get_state(index), screens[index - 3:index + 1])
        sizes.append(memory.nbytes / memory.count)
    assert sum(sizes) / len(sizes) < 1500


def test_compressed_minibatches_reuse_freed_memory_instead_of_faulting_in_new_pages():
    if not keep_freed_memory():
        pytest.skip("the C library is not glibc")
    memory = ReplayMemory(2000, (84, 84), seed=0, compress=True)
    rng = np.random.default_rng(0)
    for number in range(memory.size):
        memory.add(np.full((84, 84), number % 251, dtype=np.uint8) * (rng.random((84, 84)) < 0.1), 0, 0.0, False)
    for _ in range(20):
        memory.get_minibatch()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(100):
        memory.get_minibatch()
    assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before < 100  # about 280 per minibatch otherwise


def test_first_transition_of_each_episode_is_sampled_with_a_zero_history():
    memory = ReplayMemory(100, SHAPE, history_length=4, seed=1)
    reference = Reference(4)
    fill(memory, reference, [(5, True), (5, True), (5, False)])
    starts = {0, 5, 10}
    drawn = set(memory.sample_indices(2000).tolist())
    assert starts <= drawn
    for start in starts:
        state = memory.get_state(start)
        assert not state[:3].any()
        np.testing.assert_array_equal(state[3], screen_of(start + 1))


def test_a_state_never_reaches_into_the_previous_episode():
    memory = ReplayMemory(100, SHAPE, history_length=4, seed=1)
    reference = Reference(4)
    fill(memory, reference, [(3, True), (6, True)])
    np.testing.assert_array_equal(memory.get_state(4), reference.state(4))
    assert not memory.get_state(4)[:2].any()


def test_screens_are_stored_once_in_about_seven_kilobytes_per_transition():
    assert bytes_per_transition((84, 84)) <= 7070
    memory = ReplayMemory(1000, (84, 84))
    assert memory.nbytes == 1000 * bytes_per_transition((84, 84))


@pytest.mark.skipif(psutil.virtual_memory().total < 12e9, reason="needs a machine that could hold 7 GB")
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "compressed"])
def test_a_million_transition_memory_costs_nothing_until_filled(compress):
    """The OS hands out a page only when it is first written."""
    before = psutil.Process().memory_info().rss
    memory = ReplayMemory(1_000_000, (84, 84), compress=compress)
    assert psutil.Process().memory_info().rss - before < 100e6
    assert memory.nbytes < 100e6 if compress else memory.nbytes > 7e9


def test_a_memory_with_nothing_to_sample_says_so_instead_of_looping():
    memory = ReplayMemory(10, SHAPE, 2)
    fill(memory, Reference(2), [(1, False), (1, False), (1, False)])
    with pytest.raises(ValueError, match="can be sampled"):
        memory.sample_indices(4)


def test_sampling_is_seeded():
    def draw(seed):
        memory = ReplayMemory(50, SHAPE, 4, seed=seed)
        fill(memory, Reference(4), [(30, True), (30, False)])
        return memory.sample_indices(100)

    np.testing.assert_array_equal(draw(3), draw(3))
    assert not np.array_equal(draw(3), draw(4))


def test_a_memory_larger_than_free_ram_is_refused_with_the_size_it_needs():
    with pytest.raises(UsageError, match=r"needs 7063\.0 GB .* GB are free; try --replay_size \d+"):
        check_fits_in_memory(1_000_000_000, (84, 84))


def test_a_compressed_memory_is_planned_for_the_least_compressible_games():
    assert bytes_per_transition((84, 84), compress=True) == int(7056 * 0.4) + 64 + 7
    with pytest.raises(UsageError, match=r"needs 2893\.0 GB .*try --replay_size \d+ or less$"):
        check_fits_in_memory(1_000_000_000, (84, 84), compress=True)
    with pytest.raises(UsageError, match="or --replay_compress true$"):
        check_fits_in_memory(1_000_000_000, (84, 84))


def test_a_half_full_compressed_memory_projects_its_full_size_from_the_screens_so_far():
    memory = ReplayMemory(400, (84, 84), compress=True)
    screen = np.tile(np.arange(84, dtype=np.uint8), (84, 1))
    for _ in range(200):
        memory.add(screen, 0, 0.0, False)
    per_screen = sys.getsizeof(lz4.block.compress(screen, store_size=False))
    fixed = 400 * (8 + 7)  # a reference and the action, reward and flags of each transition
    assert abs(memory.projected_nbytes() - (fixed + 400 * per_screen)) < 200
    plain = ReplayMemory(400, (84, 84))
    assert plain.projected_nbytes() == plain.nbytes
