"""record.sh: every frame of one game as PNG files and as a video."""

import math
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import assert_clear_error, run_main, run_script
from simple_dqn.runs.results_csv import read_csv_rows
from simple_dqn.watch.animation import frame_durations


@pytest.fixture(scope="module")
def recording(trained_run, tmp_path_factory):
    """One game of the trained snapshot, recorded with sound, and its length from an evaluation's rows."""
    folder = tmp_path_factory.mktemp("recording")
    result = run_script("record.sh", str(trained_run / "breakout_2.pkl"), "--sound", "true",
                        "--max_test_frames", "600", "--record_screen_path", str(folder / "{game}"),
                        "--video_file", str(folder / "{game}_{epoch}.mp4"),
                        "--results_folder", str(folder), "--progress", "false")
    assert result.returncode == 0, result.stderr
    return folder


@pytest.mark.slow
def test_record_sh_writes_every_frame_of_the_game_as_a_png(recording):
    frames = int(read_csv_rows(recording / "episodes.csv")[0]["frames"])
    pngs = sorted((recording / "breakout").glob("*.png"))
    assert len(pngs) == frames + 1  # the screen the game starts on, then one per emulated frame
    assert pngs[0].name == "000000.png"
    assert cv2.imread(str(pngs[0])).shape == (210, 160, 3)


@pytest.mark.slow
def test_the_video_has_every_frame_at_60_per_second_and_starts_with_the_first_png(recording):
    with av.open(str(recording / "breakout_2.mp4")) as video:
        stream = video.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.average_rate == 60
        frames = [frame.to_ndarray(format="rgb24") for frame in video.decode(stream)]
    assert len(frames) == len(list((recording / "breakout").glob("*.png")))
    assert frames[0].shape == (210, 160, 3)
    first_png = cv2.cvtColor(cv2.imread(str(recording / "breakout" / "000000.png")), cv2.COLOR_BGR2RGB)
    assert np.abs(frames[0].astype(int) - first_png).mean() < 4  # H.264 and 4:2:0 colour are lossy, a little


@pytest.mark.slow
def test_the_video_carries_the_games_sound_for_as_long_as_its_pictures(recording):
    with av.open(str(recording / "breakout_2.mp4")) as video:
        audio = video.streams.audio[0]
        assert audio.codec_context.name == "aac"
        samples = np.concatenate([frame.to_ndarray().ravel() for frame in video.decode(audio)])
        rate = audio.codec_context.sample_rate
    with av.open(str(recording / "breakout_2.mp4")) as video:
        pictures = sum(1 for _ in video.decode(video=0))
    assert np.abs(samples).max() > 0
    # What is heard against what is seen, decoded (a stream's duration in the file's header may be left unset).
    assert len(samples) / rate == pytest.approx(pictures / 60, abs=0.1)


@pytest.mark.slow
def test_recording_needs_the_ale_backend_and_a_game_to_play(trained_run, tmp_path):
    snapshot = str(trained_run / "breakout_2.pkl")
    assert_clear_error(run_main("--load_weights", snapshot, "--video_file", str(tmp_path / "v.mp4")),
                       "give --play_games 1 or more")
    assert_clear_error(run_main("--load_weights", snapshot, "--play_games", "1", "--sound", "true"),
                       "give --video_file")
    assert_clear_error(run_main("Breakout-v0", "--environment", "gym", "--load_weights", snapshot, "--play_games", "1",
                                "--video_file", str(tmp_path / "v.mp4")), "use --environment ale")


@pytest.mark.slow
def test_a_mov_video_is_a_quicktime_file_shown_at_four_by_three(trained_run, tmp_path):
    result = run_main("--load_weights", str(trained_run / "breakout_2.pkl"), "--play_games", "1", "--max_test_frames",
                      "120", "--video_file", str(tmp_path / "{snapshot}.mov"), "--progress", "false")
    assert result.returncode == 0, result.stderr
    with av.open(str(tmp_path / "breakout_2.mov")) as video:
        assert "mov" in video.format.name
        stream = video.streams.video[0]
        assert (stream.width, stream.height) == (160, 210) and stream.display_aspect_ratio == Fraction(4, 3)


@pytest.mark.slow
def test_video_formats_and_path_names_it_cannot_write_are_refused_before_the_game(trained_run, tmp_path):
    snapshot = str(trained_run / "breakout_2.pkl")
    assert_clear_error(run_main("--load_weights", snapshot, "--play_games", "1", "--video_file",
                                str(tmp_path / "v.webm")), ".mp4 or .mov")
    assert_clear_error(run_main("--load_weights", snapshot, "--play_games", "1", "--video_file",
                                str(tmp_path / "{foo}.mp4")), "{foo}", "{snapshot}")


@pytest.mark.slow
def test_a_gif_shows_every_fourth_frame_at_15_per_second_four_by_three(trained_run, tmp_path):
    result = run_script("record.sh", str(trained_run / "breakout_2.pkl"), "--max_test_frames", "300",
                        "--video_file", str(tmp_path / "game.gif"), "--record_screen_path", str(tmp_path / "png"),
                        "--results_folder", str(tmp_path), "--progress", "false")
    assert result.returncode == 0, result.stderr
    recorded = int(read_csv_rows(tmp_path / "episodes.csv")[0]["frames"]) + 1  # the first screen, then each frame
    with Image.open(tmp_path / "game.gif") as gif:
        assert gif.size == (280, 210)
        durations, first = [], np.asarray(gif.convert("RGB"))
        for index in range(gif.n_frames):  # identical frames in a row are kept once, their durations summed
            gif.seek(index)
            durations.append(gif.info["duration"])
    assert sum(durations) == sum(frame_durations(math.ceil(recorded / 4)))  # 15 per second on average
    first_png = cv2.cvtColor(cv2.imread(str(tmp_path / "png" / "000000.png")), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(first, cv2.resize(first_png, (280, 210), interpolation=cv2.INTER_NEAREST))
    assert (tmp_path / "game.gif").stat().st_size < 2_000_000
    assert_clear_error(run_main("--load_weights", str(trained_run / "breakout_2.pkl"), "--play_games", "1",
                                "--video_file", str(tmp_path / "loud.gif"), "--sound", "true"), "GIF has no sound")
