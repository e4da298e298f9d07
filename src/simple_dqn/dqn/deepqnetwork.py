"""The Nature Q-network, its target network, and the Q-learning update."""

import contextlib
import functools
import logging
import math
from collections.abc import Callable, Iterable
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from simple_dqn.dqn.heads import HEADS
from simple_dqn.dqn.replay_memory import Minibatch
from simple_dqn.dqn.settings import OPTIMIZERS, EnvironmentSettings, NetworkSettings, ReplaySettings
from simple_dqn.dqn.target_rules import TARGET_RULES
from simple_dqn.errors import UsageError
from simple_dqn.wording import counted

log = logging.getLogger(__name__)


class NatureNetwork(nn.Module):
    """Three convolutions and two fully connected layers (Mnih et al. 2015).

    Takes uint8 states and scales them to [0, 1] itself, so states travel to the
    device as bytes, a quarter of the float32 traffic.  With ``channels_last`` the
    states are laid out pixel by pixel, history innermost, before the first
    convolution: oneDNN's CPU convolutions run a third faster on that layout.
    """

    def __init__(self, num_actions: int, history_length: int = ReplaySettings.history_length,
                 screen_shape: tuple[int, int] = EnvironmentSettings().screen_shape, channels_last: bool = False,
                 head: str = "nature") -> None:
        super().__init__()
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.convolutions = nn.Sequential(
            nn.Conv2d(history_length, 32, kernel_size=8, stride=4),
            nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2),
            nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            features = self.convolutions(torch.zeros(1, history_length, *screen_shape)).shape[1]
        self.head = HEADS[head](features, num_actions)
        for layer in self.modules():
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                fan_in_uniform_(layer)

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.head(self.convolutions(states.contiguous(memory_format=self.memory_format).float() / 255.0))


def fan_in_uniform_(layer: nn.Conv2d | nn.Linear) -> None:
    """Torch7's default initialisation, which the Nature DQN used: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    PyTorch's default happens to equal it today; spelling it out keeps the paper's
    initialisation even if that default changes.
    """
    bound = 1.0 / math.sqrt(layer.weight[0].numel())
    nn.init.uniform_(layer.weight, -bound, bound)
    if layer.bias is not None:
        nn.init.uniform_(layer.bias, -bound, bound)


class CenteredRMSProp(torch.optim.Optimizer):
    """RMSProp as in Graves 2013, eq. 40, and DeepMind's DQN code.

    ``n = a n + (1-a) g^2; m = a m + (1-a) g; p -= lr g / sqrt(n - m^2 + eps)``.
    ``torch.optim.RMSprop(centered=True)`` adds eps outside the square root, which
    is a different update: with eps = 0.01 inside, small gradients take much smaller steps.
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float, alpha: float = 0.95, eps: float = 0.01) -> None:
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps})

    @torch.no_grad()
    def step(self, closure: None = None) -> None:  # type: ignore[override]  # the update never re-evaluates a loss
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if not state:
                    state["square_avg"] = torch.zeros_like(param)
                    state["grad_avg"] = torch.zeros_like(param)
                square_avg, grad_avg = state["square_avg"], state["grad_avg"]
                square_avg.mul_(alpha).addcmul_(param.grad, param.grad, value=1 - alpha)
                grad_avg.lerp_(param.grad, 1 - alpha)  # one pass instead of mul_ then add_
                denominator = square_avg.addcmul(grad_avg, grad_avg, value=-1).add_(eps).sqrt_()
                param.addcdiv_(param.grad, denominator, value=-lr)


FUSED_ADAM_DEVICES = ("cpu", "cuda")


def make_optimizer(settings: NetworkSettings, params: Iterable[torch.Tensor]) -> torch.optim.Optimizer:
    """The optimizer ``--optimizer`` names, with the options that serve it."""
    if settings.optimizer == "centered_rmsprop":
        return CenteredRMSProp(params, lr=settings.learning_rate, alpha=settings.decay_rate,
                               eps=settings.min_squared_gradient)
    if settings.optimizer == "rmsprop":  # close to the original simple_dqn's Neon RMSProp: eps outside the root
        return torch.optim.RMSprop(params, lr=settings.learning_rate, alpha=settings.decay_rate, eps=1e-6)
    if settings.optimizer == "adam":
        params = list(params)
        # One fused pass over all weights: PyTorch's default on the CPU, a pass per tensor and operation, took
        # 6.3 ms of each update of the Nature network on 2 cores, the fused step 0.5 ms.
        fused = all(param.device.type in FUSED_ADAM_DEVICES for param in params)
        return torch.optim.Adam(params, lr=settings.learning_rate, eps=settings.adam_epsilon, fused=fused or None)
    raise ValueError(f"unknown optimizer {settings.optimizer!r}; choose from {', '.join(OPTIMIZERS)}")


def resolve_device(backend: str | None, device: str | None) -> torch.device:
    """``--device`` wins; ``--backend gpu`` insists on CUDA; otherwise a GPU when there is one."""
    gpus = torch.cuda.device_count()
    if device is not None:
        return device_of(device, gpus)
    if backend == "gpu" and not gpus:
        raise UsageError("--backend gpu asks for a GPU, but PyTorch sees none: use --backend cpu")
    return torch.device("cuda" if backend == "gpu" or backend is None and gpus else "cpu")


def device_of(name: str, gpus: int) -> torch.device:
    """``--device NAME`` (cpu, cuda or cuda:N, as its declaration admits) where PyTorch sees ``gpus`` GPUs. A GPU
    that is not there is refused here, in one line, before the run begins: PyTorch would fail at the network's
    first use of it ("invalid device ordinal")."""
    chosen = torch.device(name)
    if chosen.type == "cuda" and not gpus:
        raise UsageError(f"--device {name} asks for a GPU, but PyTorch sees none: use --device cpu")
    if chosen.type == "cuda" and chosen.index is not None and chosen.index >= gpus:
        seen = "cuda:0" if gpus == 1 else f"cuda:0 to cuda:{gpus - 1}"
        raise UsageError(f"--device {name}: PyTorch sees {counted(gpus, 'GPU')}, {seen} (CUDA_VISIBLE_DEVICES "
                         "chooses which)")
    return chosen


# What computes bfloat16 on a CPU, as PyTorch names it: AVX512-BF16 or AMX on x86, BF16 or SVE-BF16 on Arm.
BFLOAT16_CPU_INSTRUCTIONS = ("avx512_bf16", "amx_bf16", "bf16", "sve_bf16")


def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` computes in bfloat16 itself: a CPU with the instructions above, or a CUDA GPU of compute
    capability 8 or more. Elsewhere PyTorch emulates bfloat16, and a bfloat16 update is slower than a float32 one,
    not faster (benchmarks/RESULTS.md)."""
    if device.type == "cpu":
        capabilities = torch.cpu.get_capabilities()
        return any(capabilities.get(name, False) for name in BFLOAT16_CPU_INSTRUCTIONS)
    if device.type == "cuda":
        with torch.cuda.device(device):
            return torch.cuda.is_bf16_supported(including_emulation=False)
    return False


class UpdatePrecision(NamedTuple):
    """The precision of the update's passes on a device, and why it is that one."""

    name: str  # float32 or bfloat16
    why: str


def update_precision_on(option: str, device: torch.device) -> UpdatePrecision:
    """What ``--update_precision`` comes to on ``device``: ``auto`` is bfloat16 where the device computes it itself
    and float32 where PyTorch would emulate it, ten times slower."""
    where = "this CPU" if device.type == "cpu" else str(device)
    if option != "auto":
        return UpdatePrecision(option, "--update_precision " + option)
    if native_bfloat16(device):
        return UpdatePrecision("bfloat16", f"--update_precision auto: {where} computes bfloat16 natively")
    return UpdatePrecision("float32", f"--update_precision auto: {where} has no bfloat16 arithmetic")


class DeepQNetwork:
    """Online and target networks and the Nature Q-learning update.

    The loss is the Huber loss (the squared error with its gradient clipped to
    ``[-clip_error, clip_error]``) summed over the minibatch, as DeepMind's code
    accumulated gradients; centered RMSProp with eps inside the square root is
    tuned for that scale.
    """

    def __init__(
        self,
        num_actions: int,
        settings: NetworkSettings,
        state_shape: tuple[int, int, int],
        use_target_network: bool,
        device: torch.device,
        learns: bool = True,
    ) -> None:
        """``state_shape``: (history_length, height, width) of the states it values; ``learns``: False where it only
        plays (see ``optimizer``)."""
        self.num_actions = num_actions
        self.device = device
        self.settings = settings
        self.discount_rate = settings.discount_rate
        self.clip_error = settings.clip_error
        self.min_reward, self.max_reward = settings.min_reward, settings.max_reward
        # Channels-last is measured faster with oneDNN on CPUs (benchmarks/RESULTS.md); GPUs keep PyTorch's default.
        channels_last = device.type == "cpu" and torch.backends.mkldnn.is_available()
        self.target_rule = TARGET_RULES[settings.target_rule]
        history_length, screen_shape = state_shape[0], (state_shape[1], state_shape[2])
        self.online = NatureNetwork(num_actions, history_length, screen_shape, channels_last, settings.head).to(device)
        self.target: nn.Module
        if use_target_network:
            self.target = NatureNetwork(num_actions, history_length, screen_shape, channels_last, settings.head)
            self.target.to(device).requires_grad_(False)
            self.update_target_network()
        else:
            self.target = self.online
        self._optimizer = make_optimizer(settings, self.online.parameters()) if learns else None
        # bfloat16: the update's passes run under autocast; weights, optimizer and loss stay float32
        self.update_precision: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
        precision = update_precision_on(settings.update_precision, device)
        if learns and settings.update_precision == "auto":
            log.info("updates in %s (%s)", precision.name, precision.why)
        if precision.name == "bfloat16":
            self.update_precision = functools.partial(torch.autocast, self.device.type, dtype=torch.bfloat16)
            if learns and not native_bfloat16(device):
                log.warning("--update_precision bfloat16: %s has no bfloat16 arithmetic, so PyTorch emulates it and "
                            "each update takes about 10 times as long as in float32 (on an AMD EPYC without AVX-512: "
                            "benchmarks/RESULTS.md); --update_precision float32 is faster here",
                            "this CPU" if device.type == "cpu" else device)

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """Made with a network that learns; for one that only plays (test.sh, play.sh, nvis.sh), only if asked.
        Making PyTorch's first optimizer imports its compiler (``torch._dynamo``), a second and a half of a start
        on 2 cores, which such a network is spared."""
        if self._optimizer is None:
            self._optimizer = make_optimizer(self.settings, self.online.parameters())
        return self._optimizer

    @optimizer.setter
    def optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Another optimizer of the online network's weights, a variant's own."""
        self._optimizer = optimizer

    def update_target_network(self) -> None:
        if self.target is not self.online:
            self.target.load_state_dict(self.online.state_dict())

    def _to_device(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(array).to(self.device, non_blocking=True)

    @torch.inference_mode()
    def predict(self, states: np.ndarray) -> np.ndarray:
        """Q-values, float32 (batch, actions), of uint8 states (batch, history, height, width)."""
        return self.online(self._to_device(states)).float().cpu().numpy()

    @torch.inference_mode()
    def best_action(self, state: np.ndarray) -> int:
        """The greedy action for one state; the first of equal Q-values, as argmax breaks ties."""
        return int(self.online(self._to_device(state[None])).argmax(dim=1).item())

    def targets(self, rewards: torch.Tensor, reward_steps: torch.Tensor, terminals: torch.Tensor,
                poststates: torch.Tensor) -> torch.Tensor:
        """The rewards of the transition's n steps (the first ``reward_steps`` of each row), each clipped, discounted
        and summed, plus the value of the state n steps later discounted n times, none after a terminal; that value
        by the target rule, for the Nature DQN ``max_a Q_target(s', a)``.  With one step: r + gamma * max Q."""
        with torch.no_grad():
            future = self.target_rule(self.online, self.target, poststates)
            steps = torch.arange(rewards.shape[1], device=rewards.device)
            counted = rewards.clamp(self.min_reward, self.max_reward) * (steps < reward_steps[:, None])
            returns = (counted * self.discount_rate ** steps).sum(dim=1)
            return returns + self.discount_rate ** rewards.shape[1] * future * (~terminals)

    def loss(self, batch: Minibatch) -> torch.Tensor:
        """The summed Huber loss of one minibatch (see the class docstring)."""
        prestates, poststates = self._to_device(batch.prestates), self._to_device(batch.poststates)
        actions, rewards = self._to_device(batch.actions), self._to_device(batch.rewards)
        with self.update_precision():
            targets = self.targets(rewards, self._to_device(batch.reward_steps), self._to_device(batch.terminals),
                                   poststates).float()
            q_values = self.online(prestates).gather(1, actions[:, None]).squeeze(1).float()
        if self.clip_error > 0:
            return F.huber_loss(q_values, targets, delta=self.clip_error, reduction="sum")
        return 0.5 * F.mse_loss(q_values, targets, reduction="sum")

    def train(self, batch: Minibatch) -> torch.Tensor:
        """One gradient step; returns the mean loss per transition, left on the device."""
        loss = self.loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach() / len(batch.actions)

    def state_dict(self) -> dict:
        return {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict, with_training_state: bool) -> None:
        """Weights always; the target network and optimizer state only to resume training.

        The optimizer's running averages come back, but its settings (learning rate and
        the like) stay those this network was built with, so options given to a resumed
        run take effect. They replace the saved ones before the state loads, not after:
        PyTorch places the state by the settings it loads with, and an unfused Adam
        (simple_dqn 2.0's) keeps its step counts on the CPU, where the fused step of a
        GPU's Adam cannot read them.
        """
        self.online.load_state_dict(state["online"])
        if not with_training_state:
            self.update_target_network()
            return
        if self.target is not self.online:
            self.target.load_state_dict(state["target"])
        saved = state["optimizer"]
        groups = [{key: value for key, value in group.items() if key != "params"} | {"params": saved_group["params"]}
                  for group, saved_group in zip(self.optimizer.param_groups, saved["param_groups"], strict=True)]
        self.optimizer.load_state_dict({**saved, "param_groups": groups})
