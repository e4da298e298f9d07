"""The game in a window through pygame (SDL 2), scaled up, with its sound.

ale-py's own SDL viewer would show the picture too, but not the agent's Q-values, and its
keys would differ from the terminal's; pygame gives both displays one set of keys.
"""

import contextlib
import os
from collections.abc import Iterator

import numpy as np

from simple_dqn.errors import UsageError
from simple_dqn.watch.display import DIRECTIONS, KEYS_HELP, Display, Status

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402  (after the variable that keeps it from printing a banner)

SCALE = (4, 2)  # Atari pixels are twice as wide as tall on a television
SAMPLE_RATE = 512 * 60  # ALE hands out 512 unsigned 8-bit samples per frame
SOUND_CHUNK_FRAMES = 4  # samples are queued a few frames at a time, so a late frame leaves no gap
BACKGROUND, TEXT, CHOSEN = (0, 0, 0), (220, 220, 220), (255, 200, 0)
KEY_COMMANDS = {pygame.K_a: "a", pygame.K_s: "s", pygame.K_m: "m", pygame.K_q: "q", pygame.K_ESCAPE: "q",
                pygame.K_LEFTBRACKET: "[", pygame.K_RIGHTBRACKET: "]"}
DIRECTION_KEYS = dict(zip(DIRECTIONS, (pygame.K_UP, pygame.K_DOWN, pygame.K_LEFT, pygame.K_RIGHT, pygame.K_SPACE),
                          strict=True))


class WindowDisplay(Display):
    frames_per_second = 60

    def __init__(self, title: str, action_names: list[str], sound: bool) -> None:
        try:
            pygame.display.init()
            pygame.font.init()
            self.picture_size = (160 * SCALE[0], 210 * SCALE[1])
            self.font = pygame.font.Font(None, 22)
            self.line_height = self.font.get_linesize()
            widest = [f"{name} -00.000" for name in action_names]  # Q-values rarely need more room than this
            # the headline, the Q-values, a message, the keys and the keys of manual control
            text_lines = 4 + len(self._rows(widest))
            self.window = pygame.display.set_mode((self.picture_size[0],
                                                   self.picture_size[1] + text_lines * self.line_height + 8))
        except pygame.error as error:
            raise UsageError(f"cannot open a window: {error} (--display_screen terminal draws in the "
                             "terminal)") from None
        if pygame.display.get_driver() in ("offscreen", "dummy"):
            pygame.quit()
            display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            raise UsageError(f"could not connect to the graphical display {display!r} to open a window: "
                             "--display_screen terminal draws in the terminal")
        pygame.display.set_caption(title)
        self.closed = False
        self.volume = 0.5
        self.channel = _open_sound() if sound else None
        self.has_sound = self.channel is not None
        self.samples: list[np.ndarray] = []

    def show(self, rgb: np.ndarray, status: Status) -> None:
        self.window.fill(BACKGROUND)
        frame = pygame.surfarray.make_surface(rgb.swapaxes(0, 1))
        self.window.blit(pygame.transform.scale(frame, self.picture_size), (0, 0))
        y = self.picture_size[1] + 4
        self._text(status.headline(), 4, y, TEXT)
        cells = status.q_value_cells()
        for row in self._rows([text for text, _ in cells]):
            y += self.line_height
            for index, x in row:
                text, chosen = cells[index]
                self._text(text, x, y, CHOSEN if chosen else TEXT)
        for message in ["  ".join(status.messages), KEYS_HELP, status.manual_keys]:
            y += self.line_height
            self._text(message, 4, y, TEXT)
        pygame.display.flip()

    def _rows(self, texts: list[str]) -> list[list[tuple[int, int]]]:
        """Texts laid out in rows across the window: each row's (index, x) pairs."""
        rows: list[list[tuple[int, int]]] = [[]]
        x = 4
        for index, text in enumerate(texts):
            width = self.font.size(text)[0]
            if rows[-1] and x + width > self.picture_size[0]:
                rows.append([])
                x = 4
            rows[-1].append((index, x))
            x += width + 14
        return rows

    def _text(self, text: str, x: int, y: int, colour: tuple[int, int, int]) -> None:
        self.window.blit(self.font.render(text, True, colour), (x, y))

    def pressed_commands(self) -> list[str]:
        commands = []
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                commands.append("q")
            elif event.type == pygame.KEYDOWN and event.key in KEY_COMMANDS:
                commands.append(KEY_COMMANDS[event.key])
        return commands

    def held_directions(self) -> set[str]:
        keys = pygame.key.get_pressed()
        return {direction for direction, key in DIRECTION_KEYS.items() if keys[key]}

    def play_sound(self, samples: np.ndarray) -> None:
        if self.channel is None:
            return
        self.samples.append(samples)
        if len(self.samples) < SOUND_CHUNK_FRAMES:
            return
        chunk = pygame.mixer.Sound(buffer=np.concatenate(self.samples).astype(np.uint8).tobytes())
        self.samples.clear()
        if not self.channel.get_busy():
            self.channel.play(chunk)
        elif self.channel.get_queue() is None:
            self.channel.queue(chunk)
        self.channel.set_volume(self.volume)

    def change_volume(self, step: float) -> str:
        if self.channel is None:
            return super().change_volume(step)
        self.volume = min(1.0, max(0.0, self.volume + step))
        self.channel.set_volume(self.volume)
        return f"volume {self.volume:.0%}"

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            pygame.quit()


def _open_sound() -> pygame.mixer.Channel | None:
    """A channel for the game's sound, or None where no sound device opens (ALSA's complaints are silenced)."""
    with _quiet_stderr():
        try:
            pygame.mixer.init(frequency=SAMPLE_RATE, size=8, channels=1, allowedchanges=0)
        except pygame.error:
            return None
    return pygame.mixer.Channel(0)


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """The C libraries under SDL write to file descriptor 2 directly; Python's sys.stderr cannot hold them back."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
