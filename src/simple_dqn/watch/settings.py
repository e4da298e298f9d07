"""The settings of watching games: the screen, recordings, and pages of what the network looks at."""

from dataclasses import dataclass

from simple_dqn.option import BY_SWEEP, SettingsGroup, boolean, option, positive_int

FRAME_NAMES = ("{game}", "{epoch}", "{snapshot}")
VIDEO_SUFFIXES = (".mp4", ".mov", ".gif")


@dataclass(frozen=True)
class DisplaySettings(SettingsGroup, title="display and recording", from_snapshot="never"):
    display_screen: str = option(
        "false", "Show the games played: true picks a window when a graphical display is set, else draws in the text "
        "terminal; window or terminal forces one. Keys: a slower, s faster, m manual control (each arrow moves the "
        "player its way on screen, space fires), [ ] volume, q quit.",
        choices=("false", "true", "window", "terminal"), set_by=BY_SWEEP)
    record_screen_path: str | None = option(
        None, "Write every emulated frame of the games played as NNNNNN.png in this folder; {game}, {epoch} and "
        "{snapshot} (the snapshot's file name) are replaced.", placeholders=FRAME_NAMES, set_by=BY_SWEEP,
        in_config=False, writes="folder")
    video_file: str | None = option(
        None, "Encode the games played as an H.264 video at 60 frames per second (.mp4, or .mov), or as an "
        "animated picture of every 4th frame (.gif); {game}, {epoch} and {snapshot} are replaced.",
        placeholders=FRAME_NAMES, set_by=BY_SWEEP, in_config=False, writes="file")
    sound: bool = option(False, "Put the game's sound in the video.", parse=boolean, set_by=BY_SWEEP)


@dataclass(frozen=True)
class VisualizationSettings(SettingsGroup, title="visualization", from_snapshot="resume"):
    visualization_file: str | None = option(
        None, "Write an HTML page of what the network looks at in the games played; {game} is replaced.",
        placeholders=("{game}",), from_snapshot="never", set_by=BY_SWEEP, in_config=False, writes="file")
    visualization: str | None = option(
        None, "guided (the default): for each convolutional layer's first filters, the state where each activates "
        "most and its guided backpropagation map; saliency: the gradient of the action taken for a few states in a "
        "row.", choices=("guided", "saliency"), set_by=BY_SWEEP)
    visualization_filters: int = option(4, "Filters shown per convolutional layer.", parse=positive_int)
    visualization_states: int = option(8, "States shown with --visualization saliency.", parse=positive_int)
