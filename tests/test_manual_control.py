"""Manual control: each arrow moves the player the way it points on screen, checked by playing the real games."""

import numpy as np
import pytest

from simple_dqn.dqn.environment import ALEEnvironment
from simple_dqn.dqn.settings import EnvironmentSettings
from simple_dqn.watch.manual_control import manual_action, manual_keys

ALL_ACTIONS = ["NOOP", "FIRE", "UP", "RIGHT", "LEFT", "DOWN", "UPRIGHT", "UPLEFT", "DOWNRIGHT", "DOWNLEFT", "UPFIRE",
               "RIGHTFIRE", "LEFTFIRE", "DOWNFIRE", "UPRIGHTFIRE", "UPLEFTFIRE", "DOWNRIGHTFIRE", "DOWNLEFTFIRE"]
HELD_STEPS = 8  # agent steps of 4 frames: long enough to see the player move, too short to reach a wall

# Each game's player: its colour, the rows of the screen it moves in (the score may share its colour), and the
# keys held, one set per step, before the test: to where it can move every way it may.
PLAYERS = {"pong": ((92, 186, 92), slice(34, 194), [set()] * 10),
           "breakout": ((200, 72, 72), slice(185, 195), [set()] * 10),
           "boxing": ((214, 214, 214), slice(30, 180), [{"right"}] * 10 + [{"down"}] * 5),
           "zaxxon": ((213, 130, 74), slice(80, 260), [set()] * 75 + [{"down"}] * 5)}


def player_shift(game: str, held: set[str]) -> np.ndarray:
    """(down, right) in pixels: how much farther the player goes with ``held`` than with no key, from one moment."""
    colour, rows, lead_in = PLAYERS[game]
    positions = []
    for keys in (held, set()):
        environment = ALEEnvironment(EnvironmentSettings(game=game), seed=0, random_starts=0)
        environment.new_game()
        action_names = environment.action_names()
        for step_keys in [*lead_in, *[keys] * HELD_STEPS]:
            environment.act(manual_action(step_keys, game, action_names))
        ys, xs = np.nonzero((environment.screen_rgb()[rows] == colour).all(axis=2))
        assert len(ys), f"no player of colour {colour} on {game}'s screen"
        positions.append(np.array([ys.mean(), xs.mean()]))
    return positions[0] - positions[1]


@pytest.mark.parametrize("game, arrow, direction", [
    ("pong", "up", "up"), ("pong", "down", "down"), ("pong", "left", None), ("pong", "right", None),
    ("breakout", "left", "left"), ("breakout", "right", "right"), ("breakout", "up", None), ("breakout", "down", None),
    ("boxing", "up", "up"), ("boxing", "down", "down"), ("boxing", "left", "left"), ("boxing", "right", "right"),
    ("zaxxon", "up", "up"), ("zaxxon", "down", "down"), ("zaxxon", "left", "left"), ("zaxxon", "right", "right")])
def test_an_arrow_moves_the_player_its_way_on_screen_or_not_at_all(game, arrow, direction):
    """Pong's paddle goes up with RIGHT, Zaxxon's plane with DOWN (it climbs); Breakout's has no way up."""
    down, right = player_shift(game, {arrow})
    if direction is None:
        assert abs(down) < 1 and abs(right) < 1, (down, right)
    else:
        along, across = {"up": (-down, right), "down": (down, right), "left": (-right, down),
                         "right": (right, down)}[direction]
        assert along > 8 and abs(across) < along / 2, (down, right)


@pytest.mark.parametrize("game, action_names, keys", [
    ("pong", ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"], "m manual: up RIGHT · down LEFT · space FIRE"),
    ("pong", ALL_ACTIONS, "m manual: up RIGHT · down LEFT · space FIRE"),  # --minimal_action_set false
    ("breakout", ["NOOP", "FIRE", "RIGHT", "LEFT"], "m manual: left LEFT · right RIGHT · space FIRE"),
    ("boxing", ALL_ACTIONS, "m manual: up UP · down DOWN · left LEFT · right RIGHT · space FIRE"),
    ("zaxxon", ALL_ACTIONS, "m manual: up DOWN · down UP · left LEFT · right RIGHT · space FIRE")])
def test_the_key_line_names_the_action_each_key_takes(game, action_names, keys):
    assert manual_keys(game, action_names) == keys


def test_keys_held_together_take_the_games_action_nearest_to_them():
    breakout = ["NOOP", "FIRE", "RIGHT", "LEFT"]
    assert manual_action(set(), "breakout", breakout) == 0
    assert manual_action({"up", "fire"}, "breakout", breakout) == 1  # Breakout has no up: fire alone
    assert manual_action({"up", "left", "fire"}, "boxing", ALL_ACTIONS) == ALL_ACTIONS.index("UPLEFTFIRE")
    assert manual_action({"down", "right"}, "boxing", ALL_ACTIONS) == ALL_ACTIONS.index("DOWNRIGHT")
    assert manual_action({"up", "left", "fire"}, "zaxxon", ALL_ACTIONS) == ALL_ACTIONS.index("DOWNLEFTFIRE")
    pong = ["NOOP", "FIRE", "RIGHT", "LEFT", "RIGHTFIRE", "LEFTFIRE"]
    assert manual_action({"up", "left", "fire"}, "pong", pong) == pong.index("RIGHTFIRE")
