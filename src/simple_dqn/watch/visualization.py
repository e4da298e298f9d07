"""What the network looks at, as one self-contained HTML page: each input state beside its map.

States are drawn as the original drew them: the last three of the four frames in red, green
and blue, so what stayed still is grey and what moved leaves a red-green-blue trail.
"""

import base64
import html
from pathlib import Path

import cv2
import numpy as np
from torch import nn

from simple_dqn.dqn.agent import Agent
from simple_dqn.errors import UsageError
from simple_dqn.files import write_atomically
from simple_dqn.watch.guided_backprop import convolutions_of, guided_backprop, saliency, strongest_activations

SCALE = 3  # 84x84 screens shown at 252x252, enlarged by the browser so the page stays small
COLOUR_CODE = ("Each picture shows the last three of a state's four frames as red, green and blue: grey where "
               "nothing changed; where something moved, its newest place is blue and its older ones green and red, "
               "so a moving ball leaves a red-green-blue trail (and what disappeared leaves yellow). In the maps, "
               "brightness is how strongly a pixel drives {what}, in the same colours.")


class StateRecorder:
    """Keeps every state the agent acts on, its Q-values and the action taken (after a viewer's manual control)."""

    def __init__(self, agent: Agent) -> None:
        self.states: list[np.ndarray] = []
        self.q_values: list[np.ndarray] = []
        self.actions: list[int] = []
        agent.observe_actions(self.observe)

    def observe(self, state: np.ndarray, q_values: np.ndarray, action: int) -> None:
        self.states.append(state.copy())
        self.q_values.append(q_values)
        self.actions.append(action)


def state_picture(state: np.ndarray) -> np.ndarray:
    """RGB uint8 of a (history, height, width) state: its last three frames as red, green and blue."""
    return np.moveaxis(state[-3:], 0, -1)


def map_picture(influence: np.ndarray) -> np.ndarray:
    """RGB uint8 of a map shaped like a state: the magnitude, scaled so the strongest pixel of any frame is
    brightest, in the states' colours."""
    magnitude = np.abs(influence)
    peak = magnitude.max()
    scaled = magnitude / peak * 255 if peak > 0 else magnitude
    return np.moveaxis(scaled[-3:].astype(np.uint8), 0, -1)


def _oldest_frame_only(influence: np.ndarray) -> bool:
    return not np.abs(influence[-3:]).any() and np.abs(influence[0]).any()


def guided_backprop_sections(network: nn.Module, states: np.ndarray, filters: int) -> list[tuple[str, list[str]]]:
    """One section per convolutional layer, one figure per filter: its strongest state and that activation's map."""
    convolutions = convolutions_of(network)
    # A state whose oldest frame is blank comes from the first steps of a game, padded with zeros: their sharp
    # edges excite filters as no real screen does, so they are searched only when there is nothing else.
    whole = np.flatnonzero(states[:, 0].any(axis=(1, 2)))
    searched = whole if len(whole) else np.arange(len(states))
    sections: dict[str, list[str]] = {}
    for strongest in strongest_activations(convolutions, states[searched], filters):
        strongest.state_index = int(searched[strongest.state_index])
        convolution = convolutions[strongest.layer]
        heading = (f"Layer {strongest.layer + 1}: {convolution.out_channels} filters of "
                   f"{convolution.kernel_size[0]}x{convolution.kernel_size[1]}, stride {convolution.stride[0]}")
        if strongest.value <= 0:
            figure = f"<figure class=silent><figcaption>filter {strongest.filter}: never activates in this game" \
                     "</figcaption></figure>"
        else:
            state = states[strongest.state_index]
            influence, _ = guided_backprop(convolutions, state, strongest.layer, strongest.filter, strongest.position)
            figure = _figure(state, influence, f"filter {strongest.filter} · activation {strongest.value:.3g} · game "
                             f"step {strongest.state_index} · at {strongest.position}")
        sections.setdefault(heading, []).append(figure)
    return list(sections.items())


def saliency_sections(network: nn.Module, states: np.ndarray, actions: list[int], action_names: list[str],
                      q_values: np.ndarray, count: int) -> list[tuple[str, list[str]]]:
    """The ``count`` steps up to the one the agent valued most, each state beside its action's saliency. A peak
    among the first steps has fewer steps before it, so the steps after it fill the count."""
    peak = int(q_values.max(axis=1).argmax())
    first = max(0, min(peak - count + 1, len(states) - count))
    steps = range(first, min(len(states), first + count))
    figures = [_figure(states[step], saliency(network, states[step], actions[step]),
                       f"game step {step} · action {action_names[actions[step]]} · "
                       f"Q {q_values[step, actions[step]]:.3g}")
               for step in steps]
    heading = (f"Saliency of the action taken, the {len(figures)} steps up to the one the agent valued most "
               f"(step {peak})")
    return [(heading, figures)]


def _figure(state: np.ndarray, influence: np.ndarray, caption: str) -> str:
    if _oldest_frame_only(influence):
        caption += " · the map lies in the oldest frame only, which the pictures leave out"
    return (f"<figure>{_image(state_picture(state), 'input state')}{_image(map_picture(influence), 'map')}"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _image(rgb: np.ndarray, label: str) -> str:
    encoded = base64.b64encode(cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()).decode()
    height, width = rgb.shape[:2]
    return (f'<img alt="{label}" title="{label}" width={width * SCALE} height={height * SCALE} '
            f'src="data:image/png;base64,{encoded}">')


def write_page(path: Path, title: str, explanation: str, sections: list[tuple[str, list[str]]], what: str) -> None:
    """One HTML file with every image inside it, so it opens offline and travels as one file; ``what`` the maps
    show the drive of: 'the filter' or 'the Q-value'."""
    body = "".join(f"<section><h2>{html.escape(heading)}</h2>{''.join(figures)}</section>"
                   for heading, figures in sections)
    page = (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title><style>"
            "body{font-family:sans-serif;background:#111;color:#ddd;margin:2em}figure{display:inline-block;"
            "margin:0 1.5em 1.5em 0}img{image-rendering:pixelated;margin-right:4px}figcaption{font-size:0.85em}"
            f"</style></head><body><h1>{html.escape(title)}</h1><p>{html.escape(explanation)}</p>"
            f"<p>{html.escape(COLOUR_CODE.format(what=what))}</p>{body}</body></html>")
    try:
        write_atomically(path, lambda file: file.write(page.encode()))
    except OSError as error:
        raise UsageError(f"cannot write the visualization {path}: {error.strerror or error}") from None
