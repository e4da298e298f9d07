"""Manual control: each arrow key moves the player the way it points on screen, and space fires.

A game's actions are named for the joystick, and in most games pushing the stick up moves the
player up the screen, so an arrow takes the action of its own name (where the player turns rather
than moves, as Asteroids' ship does, the names are all there is to go by).  Two of ALE's games
differ: Pong is played with a paddle knob, which ALE turns with RIGHT and LEFT, and its paddle runs
up and down; Zaxxon's plane flies as an aircraft does, diving when the stick is pushed up.  For
these a table names the joystick direction that moves the player each way.  A table and not a
measurement while playing: finding "the player" on an unknown screen is guesswork, and the games
are few and fixed (holding each direction in each of ALE's games found these two); the tests
watch the player of each entry move.
"""

from simple_dqn.watch.display import DIRECTIONS

# The joystick direction that moves the player each way on screen, for the games where it is not the
# arrow's own; an arrow left out moves nothing there (in Pong nothing moves sideways).
JOYSTICK_BY_ARROW = {"pong": {"up": "right", "down": "left"},
                     "zaxxon": {"up": "down", "down": "up", "left": "left", "right": "right"}}


def manual_action(held: set[str], game: str, action_names: list[str]) -> int:
    """The game's action for the keys held (of ``DIRECTIONS``), or the nearest it has: a part it lacks (fire,
    then up or down) is dropped."""
    arrows = JOYSTICK_BY_ARROW.get(game)
    directions = held if arrows is None else {arrows[key] for key in held if key in arrows} | (held & {"fire"})
    vertical = "UP" if "up" in directions else "DOWN" if "down" in directions else ""
    horizontal = "RIGHT" if "right" in directions else "LEFT" if "left" in directions else ""
    fire = "FIRE" if "fire" in directions else ""
    for name in (vertical + horizontal + fire, horizontal + fire, vertical + horizontal, vertical + fire,
                 horizontal, vertical, fire):
        if name in action_names:
            return action_names.index(name)
    return action_names.index("NOOP") if "NOOP" in action_names else 0


def manual_keys(game: str, action_names: list[str]) -> str:
    """The key line of manual control: each key with the action it takes alone; a key that moves nothing is
    left out, so the player sees which keys play this game."""
    idle = manual_action(set(), game, action_names)
    taken = {key: manual_action({key}, game, action_names) for key in DIRECTIONS}
    return "m manual: " + " · ".join(f"{'space' if key == 'fire' else key} {action_names[action]}"
                                      for key, action in taken.items() if action != idle)
