"""What the network looks at, as one self-contained HTML page: each input state beside its map.

States are drawn as the original drew them: the last three of the four frames in red, green
and blue, so what stayed still is grey and what moved leaves a red-green-blue trail.
"""

import base64
import html
import logging
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from torch import nn

from agent import Agent
from files import write_atomically
from guided_backprop import convolutions_of, guided_backprop, saliency, strongest_activations

log = logging.getLogger(__name__)
SCALE = 3  # 84x84 screens drawn at 252x252
COLOUR_CODE = ("Each picture shows the last three of a state's four frames as red, green and blue: grey where "
               "nothing changed, blue where the newest frame differs, so a moving ball leaves a red-green-blue trail; "
               "in the maps, brightness is how strongly a pixel drives the unit, in the same colours.")


class StateRecorder:
    """Keeps every state the agent acts on, its Q-values and the action taken; it stands in ``Agent.steer``."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.states: list[np.ndarray] = []
        self.q_values: list[np.ndarray] = []
        self.actions: list[int] = []
        self.passed_on: Callable[[int, np.ndarray], int] | None = agent.steer  # a display's, which may steer
        agent.steer = self.steer

    def steer(self, action: int, q_values: np.ndarray) -> int:
        if self.passed_on is not None:
            action = self.passed_on(action, q_values)
        self.states.append(self.agent.state_buffer.state().copy())
        self.q_values.append(q_values)
        self.actions.append(action)
        return action


def state_picture(state: np.ndarray) -> np.ndarray:
    """RGB uint8 of a (history, height, width) state: its last three frames as red, green and blue."""
    return _enlarged(np.moveaxis(state[-3:], 0, -1))


def map_picture(influence: np.ndarray) -> np.ndarray:
    """RGB uint8 of a map shaped like a state: the magnitude, brightest at its maximum, in the states' colours."""
    magnitude = np.abs(influence[-3:])
    peak = magnitude.max()
    scaled = magnitude / peak * 255 if peak > 0 else magnitude
    return _enlarged(np.moveaxis(scaled.astype(np.uint8), 0, -1))


def _enlarged(rgb: np.ndarray) -> np.ndarray:
    return np.repeat(np.repeat(rgb, SCALE, axis=0), SCALE, axis=1)


def guided_backprop_sections(network: nn.Module, states: np.ndarray, filters: int) -> list[tuple[str, list[str]]]:
    """One section per convolutional layer, one figure per filter: its strongest state and that activation's map."""
    convolutions = convolutions_of(network)
    sections = {}
    for strongest in strongest_activations(convolutions, states, filters):
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
    """The ``count`` steps up to the one the agent valued most, each state beside its action's saliency."""
    peak = int(q_values.max(axis=1).argmax())
    steps = range(max(0, peak - count + 1), peak + 1)
    figures = [_figure(states[step], saliency(network, states[step], actions[step]),
                       f"game step {step} · action {action_names[actions[step]]} · Q {q_values[step, actions[step]]:.3g}")
               for step in steps]
    return [(f"Saliency of the action taken, the {len(figures)} steps up to the one the agent valued most", figures)]


def _figure(state: np.ndarray, influence: np.ndarray, caption: str) -> str:
    return (f"<figure>{_image(state_picture(state), 'input state')}{_image(map_picture(influence), 'map')}"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _image(rgb: np.ndarray, label: str) -> str:
    encoded = base64.b64encode(cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()).decode()
    return f'<img alt="{label}" title="{label}" src="data:image/png;base64,{encoded}">'


def write_page(path: Path, title: str, explanation: str, sections: list[tuple[str, list[str]]]) -> None:
    """One HTML file with every image inside it, so it opens offline and travels as one file."""
    body = "".join(f"<section><h2>{html.escape(heading)}</h2>{''.join(figures)}</section>"
                   for heading, figures in sections)
    page = (f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)}</title><style>"
            "body{font-family:sans-serif;background:#111;color:#ddd;margin:2em}figure{display:inline-block;"
            "margin:0 1.5em 1.5em 0}img{image-rendering:pixelated;margin-right:4px}figcaption{font-size:0.85em}"
            f"</style></head><body><h1>{html.escape(title)}</h1><p>{html.escape(explanation)}</p>"
            f"<p>{html.escape(COLOUR_CODE)}</p>{body}</body></html>")
    write_atomically(path, lambda file: file.write(page.encode()))
