"""Replay memory against a plain list of everything added, over random episodes that wrap many times."""

import itertools
import json
import logging
import resource
import sys
from dataclasses import dataclass
from pathlib import Path

import lz4.block
import numpy as np
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simple_dqn.dqn.allocator import keep_freed_memory
from simple_dqn.dqn.environment import ALEEnvironment
from simple_dqn.dqn.replay_memory import ReplayMemory, bytes_per_transition, check_fits_in_memory, make_replay_memory
from simple_dqn.dqn.settings import EnvironmentSettings, ReplaySettings
from simple_dqn.errors import UsageError
from simple_dqn.runs.replay_file import load_replay, save_replay

SHAPE = (2, 3)
STREAMS = [1, 2, 4]  # games played at once, each with its own replay stream


def screen_of(number: int | np.ndarray) -> np.ndarray:
    """A screen that names its transition (one per number of an array): numbers start at 1, so an all-zero
    screen is padding."""
    numbers = np.asarray(number)
    screen = np.zeros((*numbers.shape, *SHAPE), dtype=np.uint8)
    screen[..., 0, 0], screen[..., 0, 1] = numbers % 256, numbers // 256
    return screen


@dataclass
class Added:
    number: int
    episode: int
    terminal: bool
    truncated: bool = False


class Reference:
    """Everything ever added to one stream, in order, and the states it implies."""

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

    def sampleable(self, position: int, kept_from: int, n_step: int = 1) -> bool:
        """Not the newest, and each of its ``n_step`` steps followed by the next of its episode, until one ends it
        (none cut short, none the newest); and its state's screens of its own episode still kept."""
        transition = self.added[position]
        if position == len(self.added) - 1:
            return False
        for step in self.added[position:position + n_step]:
            if step.terminal:
                break
            if step.truncated or step is self.added[-1]:
                return False
        episode_start = next(p for p in range(position, -1, -1)
                             if p == 0 or self.added[p - 1].episode != transition.episode)
        return max(position - self.history_length + 1, episode_start) >= kept_from


@dataclass
class Phase:
    """A step of every stream per item of ``terminals``, which says whose episodes ended at it; a truncated phase
    ends with ``truncate_episode``, which cuts every stream's episode short at once, as the agent does."""

    terminals: list[tuple[bool, ...]]
    truncated: bool


@st.composite
def games_played(draw: st.DrawFn, streams: int) -> list[Phase]:
    """Each stream plays episodes of lengths of its own (going round those drawn for it, as few draws keep the
    tests fast); only the phases' ends are shared."""
    lengths = [itertools.cycle(draw(st.lists(st.integers(1, 12), min_size=1, max_size=8))) for _ in range(streams)]
    phases, steps_left = [], [0] * streams  # steps left in each stream's episode; 0 until one begins
    for steps, truncated in draw(st.lists(st.tuples(st.integers(1, 40), st.booleans()), min_size=1, max_size=10)):
        terminals = []
        for _ in range(steps):
            steps_left = [(left or next(cycle)) - 1 for left, cycle in zip(steps_left, lengths, strict=True)]
            terminals.append(tuple(left == 0 for left in steps_left))
        if truncated:
            steps_left = [0] * streams
        phases.append(Phase(terminals, truncated))
    return phases


@st.composite
def memory_sizes(draw: st.DrawFn, streams: int, max_history_length: int) -> tuple[int, int]:
    """A size (not always a multiple of ``streams``) and a history length that fits in each stream."""
    history_length = draw(st.integers(1, max_history_length))
    return draw(st.integers(max(6, (history_length + 1) * streams), max(40, 10 * streams))), history_length


def in_lockstep(episodes: list[tuple[int, bool]], streams: int) -> list[Phase]:
    """Every stream plays the same episodes of the given lengths; each ends terminal or, if not, cut short."""
    phases, terminals = [], []
    for length, terminal_end in episodes:
        terminals += [(terminal_end and step == length - 1,) * streams for step in range(length)]
        if not terminal_end:
            phases.append(Phase(terminals, truncated=True))
            terminals = []
    if terminals:
        phases.append(Phase(terminals, truncated=False))
    return phases


class Played:
    """Each stream's Reference.  Overall position ``p``, the ``p``-th transition the memory was given, is step
    ``p // streams`` of stream ``p % streams``: stream k's step t went to entry ``(t * streams + k) % size``."""

    def __init__(self, memory: ReplayMemory) -> None:
        self.memory = memory
        self.references = [Reference(memory.history_length) for _ in range(memory.streams)]

    @property
    def total(self) -> int:
        return len(self.references) * len(self.references[0].added)

    def kept(self) -> range:
        """The overall positions the memory still holds."""
        return range(self.total - self.memory.count, self.total)

    def stream_step(self, position: int) -> tuple[Reference, int]:
        return self.references[position % len(self.references)], position // len(self.references)

    def sampleable(self, position: int) -> bool:
        reference, step = self.stream_step(position)
        return reference.sampleable(step, self.kept().start // len(self.references), self.memory.n_step)

    def position_of(self, index: int) -> int:
        """Which overall position the memory slot ``index`` holds now."""
        return max(p for p in self.kept() if p % self.memory.size == index)


def fill(memory: ReplayMemory, phases: list[Phase]) -> Played:
    """Play the phases into the memory, numbering every transition by its overall position (from 1)."""
    played, streams = Played(memory), memory.streams
    episodes, first = [0] * streams, 1  # each stream's episode, and the number of the next transition added
    for phase in phases:
        for terminals in phase.terminals:
            if streams == 1:
                memory.add(screen_of(first), first % 7, float(first), terminals[0])
            else:
                numbers = np.arange(first, first + streams)
                memory.add(screen_of(numbers), numbers % 7, numbers.astype(np.float32), np.array(terminals))
            for stream, (reference, terminal) in enumerate(zip(played.references, terminals, strict=True)):
                reference.added.append(Added(first + stream, episodes[stream], terminal))
                episodes[stream] += terminal
            first += streams
        if phase.truncated:
            memory.truncate_episode()
            for stream, reference in enumerate(played.references):
                if not reference.added[-1].terminal:
                    reference.added[-1].truncated = True
                    episodes[stream] += 1
    return played


def examples(one_stream: int, streams: int) -> settings:
    """Fewer examples for several streams keep the suite fast; each example still wraps every stream many times."""
    return settings(max_examples=one_stream if streams == 1 else one_stream * 2 // 5, deadline=None)


@pytest.mark.parametrize("streams", STREAMS)
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "compressed"])
def test_every_sample_equals_the_states_rebuilt_from_what_was_added(compress, streams):
    """Of its own stream, never another's: every transition's screen names its stream and step."""
    @examples(100, streams)
    @given(sizes=memory_sizes(streams, 5), phases=games_played(streams), seed=st.integers(0, 2**32 - 1))
    def check(sizes, phases, seed):
        size, history_length = sizes
        memory = ReplayMemory(size, SHAPE, history_length, batch_size=8, seed=seed, compress=compress,
                              streams=streams)
        played = fill(memory, phases)
        if not any(played.sampleable(p) for p in played.kept()):
            return
        indices = memory.sample_indices(memory.batch_size)
        batch = memory.transitions(indices)
        for k, index in enumerate(indices):
            position = played.position_of(index)
            reference, step = played.stream_step(position)
            transition = reference.added[step]
            assert played.sampleable(position)
            np.testing.assert_array_equal(batch.prestates[k], reference.state(step))
            assert batch.actions[k] == transition.number % 7
            assert batch.rewards[k].tolist() == [transition.number] and batch.reward_steps[k] == 1
            assert batch.terminals[k] == transition.terminal
            if not transition.terminal:
                np.testing.assert_array_equal(batch.poststates[k], reference.state(step + 1))

    check()


@pytest.mark.parametrize("streams", STREAMS[:2])
@pytest.mark.parametrize("n_step", [2, 3])
def test_an_n_step_sample_holds_the_rewards_and_the_state_n_steps_on_in_its_episode(n_step, streams):
    """Multi-step transitions against the list of what was added: episodes ending within the n steps, at the write
    pointer and cut short by a phase's end, in each stream of several."""
    @examples(80, streams)
    @given(sizes=memory_sizes(streams, 4), phases=games_played(streams), seed=st.integers(0, 2**32 - 1))
    def check(sizes, phases, seed):
        size, history_length = sizes
        memory = ReplayMemory(size, SHAPE, history_length, batch_size=8, seed=seed, streams=streams, n_step=n_step)
        played = fill(memory, phases)
        expected = {p % memory.size for p in played.kept() if played.sampleable(p)}
        assert set(memory.valid_indices()) == expected
        if not expected:
            return
        indices = memory.sample_indices(memory.batch_size)
        batch = memory.transitions(indices)
        for k, index in enumerate(indices):
            reference, step = played.stream_step(played.position_of(index))
            steps = reference.added[step:step + n_step]
            ends = [number for number, added in enumerate(steps) if added.terminal]
            counted = steps[:ends[0] + 1] if ends else steps
            np.testing.assert_array_equal(batch.prestates[k], reference.state(step))
            assert batch.reward_steps[k] == len(counted) and batch.terminals[k] == bool(ends)
            assert batch.rewards[k].tolist() == [added.number for added in counted] + [0] * (n_step - len(counted))
            if not ends:
                np.testing.assert_array_equal(batch.poststates[k], reference.state(step + n_step))

    check()


@pytest.mark.parametrize("streams", STREAMS)
def test_exactly_the_valid_transitions_are_sampled(streams):
    """No sample straddles the write pointer or lost history, and every other transition can be drawn."""
    @examples(80, streams)
    @given(sizes=memory_sizes(streams, 4), phases=games_played(streams))
    def check(sizes, phases):
        size, history_length = sizes
        memory = ReplayMemory(size, SHAPE, history_length, seed=0, streams=streams)
        played = fill(memory, phases)
        expected = {p % memory.size for p in played.kept() if played.sampleable(p)}
        if not expected:
            return
        drawn = set(memory.sample_indices(200 * memory.size).tolist())
        assert drawn == expected

    check()


@pytest.mark.parametrize("streams", STREAMS)
def test_compressed_and_plain_screens_give_identical_minibatches(streams):
    @examples(60, streams)
    @given(sizes=memory_sizes(streams, 5), phases=games_played(streams), seed=st.integers(0, 2**32 - 1))
    def check(sizes, phases, seed):
        size, history_length = sizes
        plain, compressed = (ReplayMemory(size, SHAPE, history_length, batch_size=8, seed=seed, compress=compress,
                                          streams=streams) for compress in (False, True))
        for memory in (plain, compressed):
            fill(memory, phases)
        if plain.valid_indices().size == 0:
            return
        for _ in range(3):
            for plain_part, compressed_part in zip(plain.get_minibatch(), compressed.get_minibatch(), strict=True):
                np.testing.assert_array_equal(plain_part, compressed_part)

    check()


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


@pytest.mark.parametrize("streams", STREAMS)
def test_first_transition_of_each_episode_is_sampled_with_a_zero_history(streams):
    memory = ReplayMemory(100 * streams, SHAPE, history_length=4, seed=1, streams=streams)
    fill(memory, in_lockstep([(5, True), (5, True), (5, False)], streams))
    starts = {step * streams + stream for step in (0, 5, 10) for stream in range(streams)}
    drawn = set(memory.sample_indices(2000 * streams).tolist())
    assert starts <= drawn
    for start in starts:
        state = memory.get_state(start)
        assert not state[:3].any()
        np.testing.assert_array_equal(state[3], screen_of(start + 1))


@pytest.mark.parametrize("streams", STREAMS)
def test_a_state_never_reaches_into_the_previous_episode(streams):
    memory = ReplayMemory(100 * streams, SHAPE, history_length=4, seed=1, streams=streams)
    played = fill(memory, in_lockstep([(3, True), (6, True)], streams))
    for stream, reference in enumerate(played.references):
        np.testing.assert_array_equal(memory.get_state(4 * streams + stream), reference.state(4))
        assert not memory.get_state(4 * streams + stream)[:2].any()


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
    fill(memory, in_lockstep([(1, False), (1, False), (1, False)], 1))
    with pytest.raises(ValueError, match="can be sampled"):
        memory.sample_indices(4)


@pytest.mark.parametrize("streams", STREAMS)
def test_sampling_is_seeded(streams):
    def draw(seed):
        memory = ReplayMemory(50 * streams, SHAPE, 4, seed=seed, streams=streams)
        fill(memory, in_lockstep([(30, True), (30, False)], streams))
        return memory.sample_indices(100)

    np.testing.assert_array_equal(draw(3), draw(3))
    assert not np.array_equal(draw(3), draw(4))


def test_every_stream_gets_as_many_entries_and_a_memory_too_small_for_its_streams_is_refused():
    assert ReplayMemory(11, SHAPE, 1, streams=4).size == 8
    with pytest.raises(UsageError, match=r"--replay_size 11 shared by --num_envs 4 games leaves 2 transitions per "
                                         r"game.*--history_length \(2\).*--replay_size 12 or more"):
        ReplayMemory(11, SHAPE, 2, streams=4)


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "compressed"])
def test_a_screen_for_each_stream_is_required(compress):
    memory = ReplayMemory(8, SHAPE, 1, compress=compress, streams=2)
    with pytest.raises(ValueError, match="screens of shape"):
        memory.add(screen_of(np.arange(1, 2)), np.zeros(2), np.zeros(2), np.zeros(2, dtype=bool))


def test_several_streams_are_logged(caplog):
    with caplog.at_level(logging.INFO):
        make_replay_memory(ReplaySettings(replay_size=101), SHAPE, 8, 0, streams=4)
    assert "replay memory: 100 transitions in 4 streams of" in caplog.text


def saved_header(path: Path) -> dict:
    with np.load(path) as archive:
        return json.loads(str(archive["header"]))


@pytest.mark.parametrize("streams", [1, 2])
@pytest.mark.parametrize("compress", [False, True], ids=["plain", "compressed"])
def test_a_saved_memory_loads_back_into_identical_minibatches(tmp_path, compress, streams):
    """One stream's file is as it always was: ``episode_ended`` a bool, and no number of streams."""
    memory, loaded = (ReplayMemory(30, SHAPE, 3, batch_size=16, seed=5, compress=compress, streams=streams)
                      for _ in range(2))
    last_steps = Phase([(False, True)[:streams]] * 3, truncated=False)  # the first stream's episode goes on
    fill(memory, [*in_lockstep([(7, True), (9, False), (12, True), (4, False), (5, True)], streams), last_steps])
    save_replay(tmp_path / "memory.replay", memory, "save", 3)
    load_replay(tmp_path / "memory.replay", loaded, "save", 3)
    assert loaded.contents()["counters"] == memory.contents()["counters"]
    for _ in range(3):
        for part, loaded_part in zip(memory.get_minibatch(), loaded.get_minibatch(), strict=True):
            np.testing.assert_array_equal(part, loaded_part)
    header = saved_header(tmp_path / "memory.replay")
    if streams == 1:
        assert header["episode_ended"] is False and "streams" not in header
    else:
        assert header["episode_ended"] == [False, True] and header["streams"] == 2


def test_a_memory_of_other_streams_is_refused_naming_num_envs(tmp_path):
    two_streams = ReplayMemory(30, SHAPE, 3, streams=2)
    fill(two_streams, in_lockstep([(7, True)], 2))
    save_replay(tmp_path / "memory.replay", two_streams, "save", 3)
    with pytest.raises(UsageError, match="30 transitions in 2 streams, not 30: .* --num_envs"):
        load_replay(tmp_path / "memory.replay", ReplayMemory(30, SHAPE, 3), "save", 3)


@pytest.mark.parametrize(("streams", "episode_ended", "count", "current"), [
    (1, [True], 0, 0), (2, True, 0, 0), (2, [True], 0, 0), (2, [True, 1], 0, 0), (2, [True, False], 3, 0),
    (2, [True, False], 0, 1)])
def test_counters_that_do_not_fit_the_streams_are_refused(streams, episode_ended, count, current):
    memory = ReplayMemory(8, SHAPE, 1, streams=streams)
    contents = memory.contents()
    contents["counters"] = {"count": count, "current": current, "episode_ended": episode_ended}
    with pytest.raises(ValueError):
        memory.load_contents(contents)


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
