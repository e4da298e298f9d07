"""One game as every emulated frame: PNG files, and an H.264 video at the console's 60 frames per second.

PyAV brings its own FFmpeg with libx264 and AAC, so nothing needs installing beside
the requirements.  The video is yuv420p, which every browser plays.  A ``.gif`` video file is
an animated picture instead (``animation.py``).
"""

import logging
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from simple_dqn.errors import UsageError
from simple_dqn.watch.animation import FRAME_STEP, AnimatedGif

log = logging.getLogger(__name__)
ATARI_PIXEL_ASPECT = Fraction(7, 4)  # 160x210 pixels shown 4:3 on a television: players show it so
FRAMES_PER_SECOND = 60
AUDIO_SAMPLES_PER_FRAME = 512  # what ALE's getAudio hands out per frame: about 30.7 kHz
AUDIO_RATE = 44_100  # a rate AAC takes; ALE's samples are resampled to it


class GameRecorder:
    """Writes each frame it is given as ``NNNNNN.png`` in ``folder`` and into ``video_file``."""

    def __init__(self, folder: Path | None, video_file: Path | None, sound: bool = False) -> None:
        self.folder = folder
        self.frames = 0
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("[0-9][0-9][0-9][0-9][0-9][0-9].png"):  # an earlier recording's frames
                old.unlink()
        self.video_file = video_file
        self.container = None
        self.animation = None
        if video_file is not None and video_file.suffix.lower() == ".gif":  # without sound: the command line checks
            video_file.parent.mkdir(parents=True, exist_ok=True)
            self.animation = AnimatedGif(video_file)
        elif video_file is not None:
            video_file.parent.mkdir(parents=True, exist_ok=True)
            try:
                # The index first, so a browser starts playing before the whole file has arrived.
                self.container = av.open(str(video_file), mode="w", options={"movflags": "faststart"})
                self.video = self.container.add_stream("libx264", rate=FRAMES_PER_SECOND, options={"crf": "18"})
                self.audio = self.container.add_stream("aac", rate=AUDIO_RATE, layout="mono") if sound else None
            except (av.error.FFmpegError, ValueError) as error:
                if self.container is not None:
                    self.container.close()
                    video_file.unlink(missing_ok=True)
                raise UsageError(f"cannot write the video {video_file}: {error}") from None
            self.video.pix_fmt = "yuv420p"
            self.video.codec_context.sample_aspect_ratio = ATARI_PIXEL_ASPECT
            self.resampler = av.AudioResampler(format="fltp", layout="mono", rate=AUDIO_RATE) if sound else None

    def add(self, rgb: np.ndarray, audio: np.ndarray | None = None) -> None:
        """One frame (height, width, 3) and, with sound, its 512 unsigned 8-bit samples."""
        self.frames += 1
        if self.folder is not None:
            cv2.imwrite(str(self.folder / f"{self.frames - 1:06d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        if self.animation is not None:
            self.animation.add(rgb)
        if self.container is None:
            return
        if self.frames == 1:
            self.video.height, self.video.width = rgb.shape[:2]
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        self.container.mux(self.video.encode(frame))
        if self.audio is not None and self.resampler is not None and audio is not None:
            samples = av.AudioFrame.from_ndarray(audio.astype(np.uint8)[None, :], format="u8", layout="mono")
            samples.sample_rate = AUDIO_SAMPLES_PER_FRAME * FRAMES_PER_SECOND
            samples.pts = (self.frames - 1) * AUDIO_SAMPLES_PER_FRAME
            samples.time_base = Fraction(1, samples.sample_rate)
            for resampled in self.resampler.resample(samples):
                self.container.mux(self.audio.encode(resampled))

    def close(self) -> None:
        """Flush the encoders and finish the file."""
        if self.animation is not None:
            self.animation.close()
            log.info("recorded %d frames: %s (every %dth)", self.frames, self.video_file, FRAME_STEP)
        if self.container is None:
            return
        self.container.mux(self.video.encode())
        if self.audio is not None and self.resampler is not None:
            for resampled in self.resampler.resample(None):
                self.container.mux(self.audio.encode(resampled))
            self.container.mux(self.audio.encode())
        self.container.close()
        log.info("recorded %d frames: %s%s", self.frames, self.video_file,
                 f" and {self.folder}/*.png" if self.folder else "")
