"""What watches the games a snapshot plays: the display, the recorder, and the page of what the network saw."""

import logging
from pathlib import Path

import numpy as np

from simple_dqn.dqn.agent import Agent
from simple_dqn.dqn.deepqnetwork import DeepQNetwork
from simple_dqn.dqn.environment import ALEEnvironment
from simple_dqn.dqn.games import Games
from simple_dqn.files import ensure_writable_folder
from simple_dqn.runs.run_files import fill
from simple_dqn.runs.statistics import Statistics
from simple_dqn.stopping import StopRequest
from simple_dqn.watch.displays import open_display
from simple_dqn.watch.recorder import GameRecorder
from simple_dqn.watch.settings import DisplaySettings, VisualizationSettings
from simple_dqn.watch.visualization import StateRecorder, guided_backprop_sections, saliency_sections, write_page
from simple_dqn.watch.watcher import GameWatcher
from simple_dqn.wording import counted

log = logging.getLogger(__name__)


def open_watcher(display_kind: str, environment: ALEEnvironment, agent: Agent, statistics: Statistics,
                 stop: StopRequest, games: int, snapshot: str | None) -> GameWatcher:
    """The display the games are shown on, and what drives it."""
    title = f"simple_dqn: {environment.name}{f' ({Path(snapshot).name})' if snapshot else ''}"
    display = open_display(display_kind, title, environment.action_names(), environment.sound)
    return GameWatcher(display, environment, agent, statistics, stop, games)


def open_recorder(settings: DisplaySettings, environment: ALEEnvironment, snapshot: str | None,
                  epoch: int) -> GameRecorder:
    """A recorder of every frame the environment emulates; it is handed each one as it comes."""
    names = {"game": environment.name, "epoch": epoch,
             "snapshot": Path(snapshot).stem if snapshot else environment.name}
    folder = Path(fill(settings.record_screen_path, **names)) if settings.record_screen_path else None
    video = Path(fill(settings.video_file, **names)) if settings.video_file else None
    for path in (folder, video.parent if video else None):
        if path is not None:
            ensure_writable_folder(path, "recordings")
    recorder = GameRecorder(folder, video, settings.sound)
    environment.add_frame_listener(lambda: recorder.add(environment.screen_rgb(),
                                                        environment.audio() if settings.sound else None))
    return recorder


def write_visualization(settings: VisualizationSettings, path: Path, environment: Games, network: DeepQNetwork,
                        recorder: StateRecorder, snapshot: str | None, games: int) -> None:
    """The page of what the network looked at in the games just played."""
    states = np.stack(recorder.states)
    source = f"{Path(snapshot).name}, " if snapshot else "an untrained network, "
    if settings.visualization == "saliency":
        sections = saliency_sections(network.online, states, recorder.actions, environment.action_names(),
                                     np.stack(recorder.q_values), settings.visualization_states)
        title = f"Saliency: {environment.name}"
        explanation = (f"{source}{counted(len(states), 'state')} of {counted(games, 'game')} played. Each map is "
                       "the gradient of the Q-value of the action taken with respect to the input state.")
    else:
        sections = guided_backprop_sections(network.online, states, settings.visualization_filters)
        title = f"Guided backpropagation: {environment.name}"
        explanation = (f"{source}{counted(len(states), 'state')} of {counted(games, 'game')} played. For each "
                       "filter, the state and position where it activates most, and the guided backpropagation of "
                       "that one activation to the input (Springenberg et al. 2014).")
    write_page(path, title, explanation, sections,
               "the Q-value" if settings.visualization == "saliency" else "the filter")
    figures = sum(len(figures) for _, figures in sections)
    log.info("wrote %s: %d figures from %d states, %.2f MB", path, figures, len(states), path.stat().st_size / 1e6)
    print(f"wrote {path}")
