"""The ALE environment on real ROMs: preprocessing, what ends an episode, and finding games."""

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from ale_py import ALEInterface, LoggerMode, roms

from simple_dqn.dqn import environment
from simple_dqn.dqn.environment import ALEEnvironment, game_id, resolve_rom
from simple_dqn.dqn.games import Step
from simple_dqn.dqn.settings import EnvironmentSettings
from simple_dqn.errors import UsageError

ALEInterface.setLoggerMode(LoggerMode.Error)


def bare_ale(game: str, seed: int = 0) -> ALEInterface:
    ale = ALEInterface()
    ale.setInt("random_seed", seed)
    ale.setFloat("repeat_action_probability", 0.0)
    ale.loadROM(roms.get_rom_path(game))
    return ale


def test_screen_is_the_max_of_the_last_two_of_four_frames_in_luminance_at_84x84():
    env = ALEEnvironment(EnvironmentSettings(game="space_invaders"), seed=0)
    ale = bare_ale("space_invaders")
    env.new_game()
    ale.reset_game()
    rng = np.random.default_rng(0)
    pooling_mattered = False
    for _ in range(200):
        action = int(rng.integers(env.num_actions()))
        env.act(action)
        frames = []
        for _ in range(4):
            ale.act(ale.getMinimalActionSet()[action])
            frames.append(ale.getScreenGrayscale())
        expected = cv2.resize(np.maximum(frames[2], frames[3]), (84, 84), interpolation=cv2.INTER_AREA)
        screen = env.get_screen()
        assert screen.shape == (84, 84) and screen.dtype == np.uint8
        np.testing.assert_array_equal(screen, expected)
        pooling_mattered |= not np.array_equal(frames[2], frames[3])
    assert pooling_mattered


def test_with_a_frame_skip_of_1_the_screen_pools_the_previous_frame():
    env = ALEEnvironment(EnvironmentSettings(game="space_invaders", frame_skip=1), seed=0)
    ale = bare_ale("space_invaders")
    env.new_game()
    ale.reset_game()
    previous = ale.getScreenGrayscale()
    for step in range(300):
        action = step % env.num_actions()
        env.act(action)
        ale.act(ale.getMinimalActionSet()[action])
        current = ale.getScreenGrayscale()
        expected = cv2.resize(np.maximum(previous, current), (84, 84), interpolation=cv2.INTER_AREA)
        np.testing.assert_array_equal(env.get_screen(), expected)
        previous = current


def test_frame_pool_mean_uses_ale_colour_averaging():
    env = ALEEnvironment(EnvironmentSettings(game="pong", frame_pool="mean"))
    assert env.ale.getBool("color_averaging")
    assert not ALEEnvironment(EnvironmentSettings(game="pong")).ale.getBool("color_averaging")


def step(env: ALEEnvironment, action: int) -> Step:
    env.send(np.array([action]))
    return env.receive()


def play_until_a_life_is_lost(env: ALEEnvironment) -> list[Step]:
    """What each step of a fixed action sequence gave, until the first life is lost."""
    env.new_games()
    steps = []
    lives = env.lives()
    for number in range(2000):
        steps.append(step(env, 1 if number % 10 == 0 else 2))  # FIRE now and then, otherwise RIGHT: the ball is missed
        if env.lives() < lives:
            return steps
    raise AssertionError("no life was lost")


def test_losing_a_life_ends_the_episode_in_train_mode_only():
    train = ALEEnvironment(EnvironmentSettings(game="breakout"))
    train.set_mode("train")
    train_steps = play_until_a_life_is_lost(train)
    assert train_steps[-1].terminals[0] and not any(done.terminals[0] for done in train_steps[:-1])
    assert not train_steps[-1].game_overs[0]
    frames = train.episode_frames()
    train.begin_next(train_steps[-1])  # the game goes on with the next life, with no no-op start
    assert train.lives() == 4 and train.episode_frames() == frames

    test = ALEEnvironment(EnvironmentSettings(game="breakout"))
    test.set_mode("test")
    assert not any(done.terminals[0] for done in play_until_a_life_is_lost(test))


def test_losing_a_life_can_be_told_not_to_end_the_episode():
    env = ALEEnvironment(EnvironmentSettings(game="breakout", terminal_on_life_loss=False))
    assert not any(done.terminals[0] for done in play_until_a_life_is_lost(env))


def test_a_test_game_ends_after_18000_frames():
    env = ALEEnvironment(EnvironmentSettings(game="breakout"), random_starts=0)  # never pressing FIRE, breakout
    env.set_mode("test")                                                         # never ends by itself
    env.new_games()
    for _ in range(18_000 // 4 - 1):
        assert not step(env, 0).game_overs[0]
    ended = step(env, 0)
    assert ended.game_overs[0] and ended.terminals[0] and env.episode_frames() == 18_000
    env.set_mode("train")
    assert not step(env, 0).game_overs[0]


def test_the_episode_after_a_game_over_is_a_new_game():
    env = ALEEnvironment(EnvironmentSettings(game="breakout"))
    env.set_mode("test")
    env.new_games()
    ended = step(env, 1)
    while not ended.game_overs[0]:
        ended = step(env, 1)
    env.begin_next(ended)
    assert env.lives() == 5 and 1 <= env.episode_frames() <= 30  # its no-op start
    np.testing.assert_array_equal(env.states()[0, :-1], 0)  # a new episode's state: one screen, zeros before it


def test_rom_path_and_game_name_find_the_same_rom():
    path, name = resolve_rom("roms/breakout.bin")
    assert name == "breakout" and path.is_file()
    assert resolve_rom("breakout") == (path, name)
    assert resolve_rom("SpaceInvaders")[1] == "space_invaders"
    assert game_id("space-invaders") == "space_invaders"


def test_a_rom_file_of_the_users_own_is_used(tmp_path, monkeypatch):
    own = tmp_path / "my_copy.bin"
    shutil.copy(roms.get_rom_path("pong"), own)
    assert resolve_rom(str(own)) == (own, "pong")
    monkeypatch.setattr(environment, "ROMS_FOLDER", tmp_path)
    shutil.copy(roms.get_rom_path("pong"), tmp_path / "pong.bin")
    assert resolve_rom("roms/pong.bin") == (tmp_path / "pong.bin", "pong")
    assert ALEEnvironment(EnvironmentSettings(game="pong")).rom_path == tmp_path / "pong.bin"


def test_a_rom_file_that_is_not_there_says_which_rom_plays_instead(caplog, tmp_path):
    caplog.set_level("INFO")
    missing = tmp_path / "roms" / "pong.bin"
    path, name = resolve_rom(str(missing))
    assert name == "pong" and path == Path(roms.get_rom_path("pong"))
    [line] = caplog.messages
    assert line == f"{missing} is not there: playing {path}, the ROM ale-py ships for pong"
    caplog.clear()
    resolve_rom("pong")  # a game's name asks for no file: nothing to say
    assert caplog.messages == []


def test_an_unknown_game_lists_close_matches():
    with pytest.raises(UsageError, match="unknown game or missing ROM 'breakot': did you mean breakout"):
        resolve_rom("breakot")


def test_a_file_that_is_no_rom_is_refused(tmp_path):
    fake = tmp_path / "breakout.bin"
    fake.write_bytes(b"not a cartridge")
    with pytest.raises(UsageError, match="not a ROM that ale-py supports"):
        resolve_rom(str(fake))
