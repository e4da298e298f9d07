"""An animated GIF of a game, the picture a README or a web page shows without a video player.

Every fourth emulated frame (one per agent step at the default frame skip) at 15 frames per second,
so the game plays at its real speed (GIF delays count in hundredths of a second: 60 per second is
beyond them), widened to the 4:3 of a television, without sound.
"""

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from simple_dqn.files import write_atomically

FRAME_STEP = 4
SHOWN_SIZE = (280, 210)  # width, height: 160x210 pixels shown 4:3


class AnimatedGif:
    """Collects the frames it is given and writes them to ``path`` on ``close``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.frames: list[Image.Image] = []
        self.seen = 0

    def add(self, rgb: np.ndarray) -> None:
        if self.seen % FRAME_STEP == 0:
            shown = cv2.resize(rgb, SHOWN_SIZE, interpolation=cv2.INTER_NEAREST)
            # An Atari frame has far fewer than 256 colours, so its palette keeps every one.
            self.frames.append(Image.fromarray(shown).quantize(colors=256))
        self.seen += 1

    def close(self) -> None:
        if not self.frames:
            return
        first, *rest = self.frames
        durations = frame_durations(len(self.frames))
        write_atomically(self.path, lambda file: first.save(
            file, format="GIF", save_all=True, append_images=rest, duration=durations, loop=0, optimize=True))


def frame_durations(frames: int) -> list[int]:
    """Milliseconds per frame: GIF counts hundredths of a second, so 15 per second is 70, 70, 60 in turn."""
    return [(70, 70, 60)[index % 3] for index in range(frames)]
