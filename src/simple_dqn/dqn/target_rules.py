"""The value of the next state in the Q-learning target: where an update variant plugs in.

Each rule takes the online and target networks and a batch of next states, and returns one
value per state, before discounting and before terminal states are zeroed.  To add one, write it
here and name it in ``TARGET_RULES``; then declare the boolean option that picks it in
``NetworkSettings`` (dqn/settings.py) with ``picks=("target_rule", NAME)``, as ``--double_q`` is.
"""

from collections.abc import Callable

import torch
from torch import nn


def max_target(online: nn.Module, target: nn.Module, poststates: torch.Tensor) -> torch.Tensor:
    """``max_a Q_target(s', a)``: the Nature DQN's rule (Mnih et al. 2015)."""
    return target(poststates).max(dim=1).values


def double_target(online: nn.Module, target: nn.Module, poststates: torch.Tensor) -> torch.Tensor:
    """``Q_target(s', argmax_a Q_online(s', a))``: the online network chooses the next action and the target
    network values it, which removes the max's bias towards overestimated actions (van Hasselt et al. 2015)."""
    chosen = online(poststates).argmax(dim=1, keepdim=True)
    return target(poststates).gather(1, chosen).squeeze(1)


TARGET_RULES: dict[str, Callable[[nn.Module, nn.Module, torch.Tensor], torch.Tensor]] = {
    "max": max_target, "double": double_target}
