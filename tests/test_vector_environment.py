"""Several games at once through ale-py's vector environment, against the single game of ale-py's own interface."""

import cv2
import numpy as np
import pytest

from simple_dqn.dqn.environment import ALEEnvironment
from simple_dqn.dqn.environments import make_games
from simple_dqn.dqn.settings import AgentSettings, EnvironmentSettings
from simple_dqn.dqn.vector_environment import VectorEnvironment
from simple_dqn.errors import UsageError


def begin_like(single: ALEEnvironment, vector: VectorEnvironment, game: int) -> None:
    """Begin a game of the one-game environment with as many no-op frames as the vector's game began with."""
    single.new_game()
    noops = int(vector._episode_frames[game])
    if noops:
        single.noop(noops)


def single_game_like(vector: VectorEnvironment, game: int, settings: EnvironmentSettings) -> ALEEnvironment:
    """The one-game environment of the same seed, begun as the vector's game was."""
    single = ALEEnvironment(settings, seed=int(vector._seeds[game]))
    begin_like(single, vector, game)
    return single


def unpooled_screen(single: ALEEnvironment) -> np.ndarray:
    """The last frame alone, resized: what the vector environment shows at a game's start, which it does not pool."""
    return cv2.resize(single.ale.getScreenGrayscale(), single.screen_size, interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize("game, sticky", [("breakout", None), ("pong", 0.25)])
def test_each_game_gives_the_screens_rewards_and_ends_of_the_single_game_of_the_same_seed_and_actions(game, sticky):
    """Every screen after a step, every reward, life and game over is the one ale-py's own interface gives with
    the same seed, no-op frames and actions; at a game's start the screen is its last no-op frame unpooled."""
    settings = EnvironmentSettings(game=game, repeat_action_probability=sticky)
    vector = VectorEnvironment(settings, games=2, random_starts=30, seed=5)
    vector.new_games()
    singles = [single_game_like(vector, index, settings) for index in range(2)]
    for index, single in enumerate(singles):
        np.testing.assert_array_equal(vector.screens()[index], unpooled_screen(single))
    rng = np.random.default_rng(0)
    compared = games_begun = 0
    for _ in range(700):
        actions = rng.integers(vector.num_actions(), size=2)
        vector.send(actions)
        step = vector.receive()
        single_steps = []
        for index, single in enumerate(singles):
            single.send(actions[index:index + 1])
            single_steps.append(single.receive())
            for field in step._fields:
                assert getattr(step, field)[index] == getattr(single_steps[-1], field)[0], field
            if not step.game_overs[index]:  # a game's last screen is never acted on, and the vector's is stale
                np.testing.assert_array_equal(vector.screens()[index], single.get_screen())
                compared += 1
        vector.begin_next(step)
        for index in np.flatnonzero(step.terminals):
            if step.game_overs[index]:  # the next game of the same emulator, in both
                begin_like(singles[index], vector, index)
                np.testing.assert_array_equal(vector.screens()[index], unpooled_screen(singles[index]))
                games_begun += 1
            else:  # the next life of the same game, in both
                singles[index].begin_next(single_steps[index])
                assert singles[index].episode_frames() == vector._episode_frames[index]
    assert compared > 1300
    assert games_begun >= 1 or game == "pong"  # a Pong game outlasts these steps


def test_a_test_game_ends_at_the_frame_cap_and_a_lost_life_ends_no_test_episode():
    settings = EnvironmentSettings(game="breakout", max_test_frames=400)
    vector = VectorEnvironment(settings, games=2, random_starts=0, seed=1)
    vector.set_mode("test")
    vector.new_games()
    fire = vector.action_names().index("FIRE")
    for _ in range(100):
        vector.send(np.full(2, fire))
        step = vector.receive()
        assert (step.terminals == step.game_overs).all()
        if step.game_overs.all():
            break
    assert step.game_overs.all() and (step.episode_frames == 400).all()


def test_a_stopped_phase_resumes_every_game_exactly_from_its_seed_and_actions():
    """Games begun anew at different steps of the phase come back in a new vector environment from what
    ``state_dict`` and ``episode_state`` keep: the same screens, and the same steps from there on."""
    settings = EnvironmentSettings(game="breakout", repeat_action_probability=0.25)
    first = VectorEnvironment(settings, games=3, random_starts=30, seed=9)
    first.new_games()
    rng = np.random.default_rng(4)
    began = np.zeros(3, dtype=int)
    for _ in range(250):
        first.send(rng.integers(first.num_actions(), size=3))
        step = first.receive()
        began += step.game_overs
        first.begin_next(step)
    assert began.sum() > 0  # games went on to new ones, unseeded, within the phase
    second = VectorEnvironment(settings, games=3, random_starts=30, seed=0)
    second.load_state_dict(first.state_dict())
    second.continue_episodes(first.episode_state())
    np.testing.assert_array_equal(second.screens(), first.screens())
    np.testing.assert_array_equal(second.states(), first.states())
    for _ in range(150):
        actions = rng.integers(first.num_actions(), size=3)
        first.send(actions)
        second.send(actions)
        expected, got = first.receive(), second.receive()
        for field in expected._fields:
            np.testing.assert_array_equal(getattr(got, field), getattr(expected, field))
        np.testing.assert_array_equal(second.screens(), first.screens())
        first.begin_next(expected)
        second.begin_next(got)
        np.testing.assert_array_equal(second.states(), first.states())


@pytest.mark.parametrize("change, refused", [
    ({"environment": "gym", "game": "ALE/Breakout-v5"}, "--environment ale"),
    ({"frame_pool": "mean"}, "--frame_pool max"),
    ({"frame_skip": 1}, "--frame_skip of at least 2"),
])
def test_settings_the_vector_environment_cannot_keep_are_refused_in_one_line(change, refused):
    settings = EnvironmentSettings(**{"game": "breakout", "num_envs": 2, **change})
    with pytest.raises(UsageError, match=refused):
        make_games(settings, AgentSettings(), history_length=4, seed=0)
    with pytest.raises(UsageError, match="--noop_unit frames"):
        make_games(EnvironmentSettings(game="breakout", num_envs=2), AgentSettings(noop_unit="steps"), 4, seed=0)
