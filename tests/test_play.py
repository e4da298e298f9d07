"""play.sh: the game drawn in a real terminal (tmux) and in a real window (Xvfb)."""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, assert_clear_error, run_main
from simple_dqn.watch.terminal_display import picture_size

BREAKOUT_RED_BRICKS = (200, 72, 72)


def wait_for(condition, timeout: float = 90, interval: float = 0.2):
    """The first true value of ``condition()`` within ``timeout`` seconds, else the last one."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class Tmux:
    """A shell in a detached tmux session on a server of its own, driven as a person would drive it."""

    def __init__(self, folder: Path) -> None:
        self.socket = str(folder / "tmux.sock")
        self._tmux("new-session", "-d", "-s", "play", "-x", "120", "-y", "50", "bash --norc --noprofile")

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True, text=True, check=True).stdout

    def type(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", "play", *keys)

    def screen(self, colours: bool = False) -> str:
        return self._tmux("capture-pane", "-p", "-t", "play", *(["-e"] if colours else []))

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def terminal(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    tmux = Tmux(tmp_path)
    yield tmux
    tmux.close()


def start_play_in(terminal: Tmux, snapshot: Path, folder: Path) -> None:
    """play.sh with no graphical display, then the exit code and the terminal's modes written to files."""
    terminal.type(f"cd {ROOT} && unset DISPLAY WAYLAND_DISPLAY && ./play.sh {snapshot} --max_test_frames 100000; "
                  f"echo $? > {folder / 'exit_code'}; stty -a > {folder / 'stty'}", "Enter")
    assert wait_for(lambda: "score" in terminal.screen()), terminal.screen()


def terminal_modes(folder: Path) -> set[str]:
    assert wait_for(lambda: (folder / "stty").exists() and (folder / "stty").read_text(), timeout=30)
    return set((folder / "stty").read_text().split())


@pytest.mark.slow
def test_the_terminal_shows_the_game_in_colour_with_score_and_q_values_and_obeys_keys(terminal, trained_run, tmp_path):
    start_play_in(terminal, trained_run / "breakout_2.pkl", tmp_path)
    picture = terminal.screen(colours=True)
    assert picture.count("\u2580") > 2000  # the half blocks of the picture fill the terminal's width
    red = ";".join(map(str, BREAKOUT_RED_BRICKS))
    assert f"38;2;{red}" in picture or f"48;2;{red}" in picture
    q_values = r"NOOP -?\d+\.\d{3}  FIRE -?\d+\.\d{3}  RIGHT -?\d+\.\d{3}  LEFT -?\d+\.\d{3}"
    assert wait_for(lambda: re.search(q_values, terminal.screen()), timeout=10), terminal.screen()
    status = terminal.screen()
    assert re.search(r"breakout  score \d+  lives \d  game 1 of 1  speed x1  agent", status), status
    assert "m manual: left LEFT · right RIGHT · space FIRE" in status  # Breakout's paddle has no way up

    terminal.type("s")
    assert wait_for(lambda: "speed x2" in terminal.screen(), timeout=10)
    terminal.type("a", "a")
    assert wait_for(lambda: "speed x1/2" in terminal.screen(), timeout=10)
    terminal.type("]")
    assert wait_for(lambda: "no sound here" in terminal.screen(), timeout=10)
    terminal.type("m")
    assert wait_for(lambda: "MANUAL" in terminal.screen(), timeout=10)
    assert wait_for(lambda: "\x1b[7mNOOP" in terminal.screen(colours=True), timeout=10)  # no key held: no move
    for _ in range(10):  # a held key repeats: the player's action replaces the agent's while it does
        terminal.type("Left")
        time.sleep(0.05)
    assert "\x1b[7mLEFT" in terminal.screen(colours=True)
    terminal.type("Right")  # the opposite direction takes over at once
    time.sleep(0.2)
    assert "\x1b[7mRIGHT" in terminal.screen(colours=True)

    terminal.type("q")
    assert wait_for(lambda: "quit after 0 of 1 game," in terminal.screen(), timeout=30), terminal.screen()
    assert re.search(r"quit after 0 of 1 game, \d+ steps under manual control", terminal.screen())
    terminal_modes(tmp_path)
    assert (tmp_path / "exit_code").read_text().strip() == "0"


@pytest.mark.slow
def test_the_terminal_is_given_back_as_it_was_after_quitting(terminal, trained_run, tmp_path):
    start_play_in(terminal, trained_run / "breakout_2.pkl", tmp_path)
    terminal.type("q")
    modes = terminal_modes(tmp_path)
    assert {"icanon", "echo"} <= modes  # cooked mode again: lines are edited and typed keys echoed
    screen = terminal.screen()
    assert "\u2580" not in screen and "quit after" in screen  # back from the alternate screen


@pytest.mark.slow
def test_ctrl_c_stops_the_game_and_gives_the_terminal_back(terminal, trained_run, tmp_path):
    start_play_in(terminal, trained_run / "breakout_2.pkl", tmp_path)
    terminal.type("C-c")
    modes = terminal_modes(tmp_path)
    assert {"icanon", "echo"} <= modes
    assert (tmp_path / "exit_code").read_text().strip() == "130"
    screen = terminal.screen()
    assert "stopped after 0 of 1 game; nothing was written" in screen and "Traceback" not in screen


@pytest.mark.slow
def test_ctrl_z_gives_the_shell_its_terminal_and_fg_brings_the_game_back(terminal, trained_run, tmp_path):
    start_play_in(terminal, trained_run / "breakout_2.pkl", tmp_path)
    terminal.type("C-z")
    assert {"icanon", "echo"} <= terminal_modes(tmp_path)  # the shell ran stty while the game was stopped
    assert "\u2580" not in terminal.screen()
    terminal.type("fg", "Enter")
    assert wait_for(lambda: "score" in terminal.screen() and terminal.screen().count("\u2580") > 2000, timeout=20)
    terminal.type("q")
    assert wait_for(lambda: "quit after 0 of 1 game" in terminal.screen(), timeout=30), terminal.screen()


@pytest.mark.slow
def test_the_games_are_counted_as_they_come(terminal, trained_run, tmp_path):
    terminal.type(f"cd {ROOT} && unset DISPLAY WAYLAND_DISPLAY && ./play.sh {trained_run / 'breakout_2.pkl'} "
                  "--play_games 2 --max_test_frames 200", "Enter")
    assert wait_for(lambda: "game 1 of 2" in terminal.screen()), terminal.screen()
    assert wait_for(lambda: "game 2 of 2" in terminal.screen(), timeout=30), terminal.screen()
    assert wait_for(lambda: "2 games, average reward" in terminal.screen(), timeout=30), terminal.screen()


@pytest.mark.slow
def test_with_a_graphical_display_the_game_plays_in_a_window(virtual_screen, trained_run):
    from PIL import ImageGrab

    environment = {**os.environ, "DISPLAY": virtual_screen, "SDL_AUDIODRIVER": "dummy"}
    game = subprocess.Popen([str(ROOT / "play.sh"), str(trained_run / "breakout_2.pkl"), "--max_test_frames", "600",
                             "--progress", "false"], cwd=ROOT, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        def red_brick_pixels() -> int:
            screenshot = np.asarray(ImageGrab.grab(xdisplay=virtual_screen).convert("RGB"))
            return int((screenshot == BREAKOUT_RED_BRICKS).all(axis=2).sum())

        shown = wait_for(lambda: game.poll() is not None or red_brick_pixels() > 5_000)  # a row of bricks, scaled up
        assert shown and game.poll() is None, game.communicate(timeout=120)[1]
        output, errors = game.communicate(timeout=120)
    finally:
        game.kill()
    assert game.returncode == 0, errors
    assert "play: " in errors and "1 game," in errors


@pytest.mark.slow
def test_with_no_screen_and_no_terminal_play_says_where_it_could_show_the_game(trained_run):
    environment = {name: value for name, value in os.environ.items() if name not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([str(ROOT / "play.sh"), str(trained_run / "breakout_2.pkl")], cwd=ROOT, env=environment,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert_clear_error(result, "no screen to show the game on", "record.sh")


@pytest.mark.slow
def test_a_window_needs_a_graphical_display(trained_run):
    environment = {name: value for name, value in os.environ.items() if name not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([str(ROOT / "play.sh"), str(trained_run / "breakout_2.pkl"), "--display_screen", "window"],
                            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert_clear_error(result, "no graphical display", "--display_screen terminal")


@pytest.mark.slow
def test_a_graphical_display_that_cannot_be_reached_is_named(trained_run):
    unused = next(number for number in range(4000, 5000) if not Path(f"/tmp/.X11-unix/X{number}").exists())
    environment = {**{name: value for name, value in os.environ.items() if name != "WAYLAND_DISPLAY"},
                   "DISPLAY": f":{unused}", "SDL_AUDIODRIVER": "dummy"}
    result = subprocess.run([str(ROOT / "play.sh"), str(trained_run / "breakout_2.pkl"), "--display_screen", "window"],
                            cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert f"could not connect to the graphical display ':{unused}'" in last_line, result.stderr
    assert "--display_screen terminal" in last_line


@pytest.mark.slow
def test_the_display_is_for_games_played_on_ales_own_interface(trained_run):
    snapshot = str(trained_run / "breakout_2.pkl")
    assert_clear_error(run_main("--load_weights", snapshot, "--display_screen", "true", "--test_steps", "10"),
                       "--play_games")
    assert_clear_error(run_main("--load_weights", snapshot, "--display_screen", "terminal", "--play_games", "1",
                                "--environment", "gym", "BreakoutNoFrameskip-v4"), "--environment ale")


@pytest.mark.parametrize("columns, lines, expected", [(300, 120, (280, 210)), (200, 200, (200, 150)),
                                                      (80, 20, (53, 40)), (120, 47, (120, 90))])
def test_the_picture_is_the_largest_four_by_three_that_fits_the_terminal(columns, lines, expected):
    assert picture_size(columns, lines) == expected
