"""The ALE environment on real ROMs: preprocessing, what ends an episode, and finding games."""

import shutil

import cv2
import numpy as np
import pytest
from ale_py import ALEInterface, LoggerMode, roms

from simple_dqn.dqn import environment
from simple_dqn.dqn.environment import ALEEnvironment, game_id, resolve_rom
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


def play_until_a_life_is_lost(env: ALEEnvironment) -> list[bool]:
    """Terminal flags of each step of a fixed action sequence, until the first life is lost."""
    env.new_game()
    terminals = []
    lives = env.ale.lives()
    for step in range(2000):
        env.act(1 if step % 10 == 0 else 2)  # FIRE now and then, otherwise RIGHT: the ball is soon missed
        terminals.append(env.is_terminal())
        if env.ale.lives() < lives:
            return terminals
    raise AssertionError("no life was lost")


def test_losing_a_life_ends_the_episode_in_train_mode_only():
    train = ALEEnvironment(EnvironmentSettings(game="breakout"))
    train.set_mode("train")
    train_terminals = play_until_a_life_is_lost(train)
    assert train_terminals[-1] and not any(train_terminals[:-1])
    assert not train.is_game_over()
    assert train.restart() is False  # the game goes on with the next life
    assert train.ale.lives() == 4

    test = ALEEnvironment(EnvironmentSettings(game="breakout"))
    test.set_mode("test")
    assert not any(play_until_a_life_is_lost(test))


def test_losing_a_life_can_be_told_not_to_end_the_episode():
    env = ALEEnvironment(EnvironmentSettings(game="breakout", terminal_on_life_loss=False))
    assert not any(play_until_a_life_is_lost(env))


def test_a_test_game_ends_after_18000_frames():
    env = ALEEnvironment(EnvironmentSettings(game="breakout"))  # never pressing FIRE, breakout never ends by itself
    env.set_mode("test")
    env.new_game()
    for _ in range(18_000 // 4 - 1):
        env.act(0)
    assert not env.is_game_over()
    env.act(0)
    assert env.is_game_over() and env.is_terminal()
    env.set_mode("train")
    assert not env.is_game_over()


def test_restart_after_game_over_starts_a_new_game():
    env = ALEEnvironment(EnvironmentSettings(game="breakout"))
    env.set_mode("test")
    env.new_game()
    while not env.is_game_over():
        env.act(1)
    assert env.restart() is True
    assert env.ale.lives() == 5 and env.ale.getEpisodeFrameNumber() == 0


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


def test_an_unknown_game_lists_close_matches():
    with pytest.raises(UsageError, match="unknown game or missing ROM 'breakot': did you mean breakout"):
        resolve_rom("breakot")


def test_a_file_that_is_no_rom_is_refused(tmp_path):
    fake = tmp_path / "breakout.bin"
    fake.write_bytes(b"not a cartridge")
    with pytest.raises(UsageError, match="not a ROM that ale-py supports"):
        resolve_rom(str(fake))
