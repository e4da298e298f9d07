"""Which input pixels drive a unit of the network: guided backpropagation and saliency.

Guided backpropagation (Springenberg et al. 2014) sends one activation back to the input
through the convolutions, letting the signal pass a ReLU only where the forward pass
opened it and the signal is positive; what reaches the input shows the pattern the
filter responds to.  Saliency is the plain gradient of a Q-value with respect to the input.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn.grad import conv2d_input


@dataclass
class StrongestActivation:
    """Where a filter of a convolutional layer activates most over a set of states."""

    layer: int  # 0 for the first convolution
    filter: int
    value: float  # after the ReLU: 0 when the filter never activates on these states
    state_index: int
    position: tuple[int, int]  # (row, column) in the layer's output


def convolutions_of(network: nn.Module) -> list[nn.Conv2d]:
    """The network's convolutional layers, first to last: the part whose filters are visualized."""
    return [module for module in network.modules() if isinstance(module, nn.Conv2d)]


def _scaled(states: np.ndarray, device: torch.device) -> torch.Tensor:
    """uint8 screens as the network sees them, in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(states)).to(device).float() / 255.0


@torch.no_grad()
def strongest_activations(convolutions: list[nn.Conv2d], states: np.ndarray, filters: int,
                          batch_size: int = 256) -> list[StrongestActivation]:
    """For each layer, its first ``filters`` filters, each at the state and position where it activates most."""
    device = convolutions[0].weight.device
    best: dict[tuple[int, int], StrongestActivation] = {}
    for start in range(0, len(states), batch_size):
        activations = _scaled(states[start:start + batch_size], device)
        for layer, convolution in enumerate(convolutions):
            activations = torch.relu(convolution(activations))
            kept = activations[:, :filters]
            height, width = kept.shape[2:]
            values, indices = kept.transpose(0, 1).reshape(kept.shape[1], -1).max(dim=1)
            for filter_index, (value, index) in enumerate(zip(values.tolist(), indices.tolist(), strict=True)):
                state_offset, spot = divmod(index, height * width)
                current = best.get((layer, filter_index))
                if current is None or value > current.value:
                    best[layer, filter_index] = StrongestActivation(layer, filter_index, value, start + state_offset,
                                                                    divmod(spot, width))
    return [best[key] for key in sorted(best)]


@torch.no_grad()
def guided_backprop(convolutions: list[nn.Conv2d], state: np.ndarray, layer: int, filter_index: int,
                    position: tuple[int, int]) -> tuple[np.ndarray, list[torch.Tensor]]:
    """The map, float (history, height, width), of one activation on the input; and the signal at each
    convolution's output on the way down, topmost first, to check the guided rule by."""
    inputs, pre_activations = [], []
    activations = _scaled(state[None], convolutions[0].weight.device)
    for convolution in convolutions[:layer + 1]:
        inputs.append(activations)
        pre_activations.append(convolution(activations))
        activations = torch.relu(pre_activations[-1])
    signal = torch.zeros_like(activations)
    signal[0, filter_index, position[0], position[1]] = 1.0
    signals = []
    for index in reversed(range(layer + 1)):
        signal = signal.clamp(min=0) * (pre_activations[index] > 0)  # the guided rule, at this layer's ReLU
        signals.append(signal)
        signal = _transposed(convolutions[index], signal, inputs[index].shape[2:])
    return signal[0].cpu().numpy(), signals


def _transposed(convolution: nn.Conv2d, signal: torch.Tensor, input_size: torch.Size) -> torch.Tensor:
    """The gradient of a convolution's output with respect to its input, for an input of ``input_size``."""
    return conv2d_input((signal.shape[0], convolution.in_channels, *input_size), convolution.weight, signal,
                        stride=convolution.stride, padding=convolution.padding, dilation=convolution.dilation,
                        groups=convolution.groups)


def saliency(network: nn.Module, state: np.ndarray, action: int) -> np.ndarray:
    """The gradient of ``action``'s Q-value with respect to the input state, float (history, height, width),
    as the network's backward pass gives it (a dueling head scales it by 1/sqrt(2); the maps are drawn
    relative to their strongest pixel, so it does not show)."""
    device = next(network.parameters()).device
    inputs = torch.from_numpy(np.ascontiguousarray(state[None])).to(device).float().requires_grad_()
    with torch.enable_grad():
        (gradient,) = torch.autograd.grad(network(inputs)[0, action], inputs)  # the weights' gradients stay untouched
    return gradient[0].cpu().numpy()
