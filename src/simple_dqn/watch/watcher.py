"""Shows the games an agent plays, at a speed the viewer picks, and lets the viewer take the controls."""

import math
import time

import numpy as np

from simple_dqn.dqn.agent import Agent
from simple_dqn.dqn.environment import ALEEnvironment
from simple_dqn.runs.statistics import Statistics
from simple_dqn.stopping import StopRequest
from simple_dqn.watch.display import Display, Status
from simple_dqn.watch.manual_control import manual_action, manual_keys

FRAMES_PER_SECOND = 60  # the console's own rate: speed x1
SPEEDS = (1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, math.inf)
MESSAGE_SECONDS = 3.0
FALLEN_BEHIND_SECONDS = 0.25  # later than this, the clock restarts instead of rushing to catch up


def speed_label(speed: float) -> str:
    if speed == math.inf:
        return "max"
    return f"x{speed:g}" if speed >= 1 else f"x1/{round(1 / speed)}"


class GameWatcher:
    """Listens to every emulated frame: draws at most the display's rate, paces the game and reads keys.

    It also steers the agent (``Agent.let_steer``), to show the Q-values of each state and, in
    manual control, to put the player's action in place of the agent's; ``q`` asks the run to stop.
    """

    def __init__(self, display: Display, environment: ALEEnvironment, agent: Agent, statistics: Statistics,
                 stop: StopRequest, games: int) -> None:
        self.display = display
        self.environment = environment
        self.statistics = statistics
        self.stop = stop
        self.games = games
        self.speed_index = SPEEDS.index(1)
        self.manual = False
        self.manual_keys = manual_keys(environment.name, environment.action_names())
        self.manual_steps = 0
        self.quit = False
        self.games_started = 0
        self.q_values: np.ndarray | None = None
        self.chosen_action: int | None = None
        self.messages: dict[str, float] = {}  # text: when it stops being shown
        self.said: set[str] = set()
        self.frames_since_clock = 0
        self.clock_start = time.perf_counter()
        self.last_drawn = -math.inf
        environment.add_frame_listener(self.on_frame)
        agent.let_steer(self.steer)

    def steer(self, action: int, q_values: np.ndarray) -> int:
        self.q_values = q_values
        if self.manual:
            action = manual_action(self.display.held_directions(), self.environment.name,
                                   self.environment.action_names())
            self.manual_steps += 1
        self.chosen_action = action
        return action

    def on_frame(self) -> None:
        environment = self.environment
        if environment.episode_frames() == 0:
            self.games_started += 1
        if self.display.has_sound and SPEEDS[self.speed_index] == 1:
            self.display.play_sound(environment.audio())
        now = time.perf_counter()
        if now - self.last_drawn >= 1 / self.display.frames_per_second:
            self.last_drawn = now
            self.display.show(environment.screen_rgb(), self._status(now))
            for command in self.display.pressed_commands():
                self._obey(command)
        self._pace()

    def _status(self, now: float) -> Status:
        self.messages = {text: until for text, until in self.messages.items() if until > now}
        return Status(
            game=self.environment.name, score=self.statistics.game_reward[0], lives=self.environment.lives(),
            game_number=max(1, min(self.games_started, self.games)), games=self.games,
            speed=speed_label(SPEEDS[self.speed_index]), manual=self.manual, manual_keys=self.manual_keys,
            action_names=self.environment.action_names(), q_values=self.q_values, chosen_action=self.chosen_action,
            messages=list(self.messages))

    def _obey(self, command: str) -> None:
        if command in "as":
            self.speed_index = min(max(self.speed_index + (1 if command == "s" else -1), 0), len(SPEEDS) - 1)
            self._restart_clock()
        elif command == "m":
            self.manual = not self.manual
        elif command in "[]":
            message = self.display.change_volume(0.1 if command == "]" else -0.1)
            if self.display.has_sound or message not in self.said:  # "no sound" is said once, not at each press
                self.said.add(message)
                self.messages[message] = time.perf_counter() + MESSAGE_SECONDS
        elif command == "q":
            self.quit = True
            self.stop.request()

    def _pace(self) -> None:
        """Sleep until this frame is due at the chosen speed."""
        speed = SPEEDS[self.speed_index]
        self.frames_since_clock += 1
        if speed == math.inf:
            return
        due = self.clock_start + self.frames_since_clock / (FRAMES_PER_SECOND * speed)
        late = time.perf_counter() - due
        if late > FALLEN_BEHIND_SECONDS:
            self._restart_clock()
        elif late < 0:
            time.sleep(-late)

    def _restart_clock(self) -> None:
        self.frames_since_clock = 0
        self.clock_start = time.perf_counter()
