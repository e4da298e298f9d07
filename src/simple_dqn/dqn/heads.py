"""What follows the convolutional trunk and turns its features into Q-values: where a network variant plugs in.

To add one, write its module here and name it in ``HEADS``; then declare the boolean option that picks it
in ``NetworkSettings`` (dqn/settings.py) with ``picks=("head", NAME)`` and ``shapes_network=True`` (a snapshot
fits only a network of its own head), as ``--dueling`` is.
"""

import torch
from torch import nn


class NatureHead(nn.Sequential):
    """One hidden layer of 512 units, then a Q-value per action (Mnih et al. 2015)."""

    def __init__(self, features: int, num_actions: int) -> None:
        super().__init__(nn.Linear(features, 512), nn.ReLU(), nn.Linear(512, num_actions))


class DuelingHead(nn.Module):
    """A state value and each action's advantage, from streams of 512 units each (Wang et al. 2016).

    Q = V + A - mean(A): subtracting the mean advantage makes V and A identifiable (any constant
    could otherwise move between them) and keeps the mean Q-value of a state equal to its value.
    As in the paper, the gradient the two streams send back into the trunk is scaled by 1/sqrt(2),
    so the trunk learns at the pace a single stream would set.
    """

    def __init__(self, features: int, num_actions: int) -> None:
        super().__init__()
        self.value = nn.Sequential(nn.Linear(features, 512), nn.ReLU(), nn.Linear(512, 1))
        self.advantage = nn.Sequential(nn.Linear(features, 512), nn.ReLU(), nn.Linear(512, num_actions))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        features = _scale_gradient(features, 2 ** -0.5)
        advantages = self.advantage(features)
        return self.value(features) + advantages - advantages.mean(dim=1, keepdim=True)


def _scale_gradient(tensor: torch.Tensor, scale: float) -> torch.Tensor:
    """The same values, with ``scale`` times the gradient flowing back through them."""
    frozen = tensor.detach()
    return frozen + (tensor - frozen) * scale


HEADS: dict[str, type[nn.Module]] = {"nature": NatureHead, "dueling": DuelingHead}
