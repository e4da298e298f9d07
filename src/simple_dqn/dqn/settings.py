"""The settings of the DQN's four parts, each option declared once: defaults reproduce Mnih et al. 2015.

Steps are agent steps (one action, ``frame_skip`` emulator frames); frames are emulator frames.
"""

import argparse
import re
from dataclasses import dataclass, fields

from simple_dqn.option import (
    BY_SWEEP,
    SettingsGroup,
    boolean,
    count,
    finite_float,
    nonnegative_float,
    number_type,
    option,
    positive_float,
    positive_int,
    probability,
)

FRAME_POOLS = ("max", "mean")
OPTIMIZERS = ("centered_rmsprop", "rmsprop", "adam")
NOOP_UNITS = ("frames", "steps")
screen_height = number_type(int, 36, 210, what="between 36 (the smallest the network takes) and 210 (the Atari screen)")
screen_width = number_type(int, 36, 160, what="between 36 (the smallest the network takes) and 160 (the Atari screen)")


def device_name(text: str) -> str:
    """A device the network runs on: the CPU or a CUDA GPU, the only ones its update is written and tested for.
    Checked here, before PyTorch loads; whether that GPU is there is checked when the network is built."""
    if not re.fullmatch(r"cpu|cuda(:[0-9]+)?", text):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:N (the network runs on the CPU or a CUDA GPU), "
                                         f"got {text!r}")
    return text


@dataclass(frozen=True)
class EnvironmentSettings(SettingsGroup, title="environment", from_snapshot="always"):
    game: str | None = option(
        None, "ROM file (roms/breakout.bin) or game name (breakout), or with --environment gym a Gymnasium id "
        "(Breakout-v0); optional when --load_weights names a snapshot, which knows its game",
        positional=True, from_snapshot="never")
    environment: str = option(
        "ale", "ale: ale-py's own interface, the game a ROM file or name; gym: a Gymnasium id such as Breakout-v0, "
        "ALE/Breakout-v5 or BreakoutNoFrameskip-v4, with the frame skip and sticky actions the id defines.",
        choices=("ale", "gym"))
    frame_skip: int = option(4, "How many frames to repeat each chosen action (gym: only for ids that skip none "
                             "themselves).", parse=positive_int)
    frame_pool: str = option("max", "Combine the last two frames of a step by their maximum (Nature) or ALE's colour "
                             "averaging (original simple_dqn).", choices=FRAME_POOLS)
    repeat_action_probability: float | None = option(
        None, "Sticky actions: probability that the emulator repeats the previous action on a frame (Machado et al. "
        "use 0.25); when absent, 0 with ale (as Nature) and the id's own with gym.", parse=probability)
    minimal_action_set: bool = option(True, "Use the game's minimal action set, not all 18 actions.", parse=boolean)
    screen_width: int = option(84, "Screen width after resize.", parse=screen_width, metavar="N", shapes_network=True)
    screen_height: int = option(84, "Screen height after resize.", parse=screen_height, metavar="N",
                                shapes_network=True)
    terminal_on_life_loss: bool = option(
        True, "End the episode for learning when a life is lost (training only; the game goes on).", parse=boolean)
    num_envs: int = option(
        1, "Games played at once in training and test phases, stepped by ale-py's vector environment in threads of "
        "its own while the network updates; each keeps its own replay stream, and step counts stay agent steps "
        "over all games. Above 1: ale only, no-op starts of 0 to --random_starts frames.", parse=positive_int,
        metavar="N", from_snapshot="resume")
    max_test_frames: int = option(18_000, "Most emulator frames in one test game (18,000 = 5 minutes, as Nature); 0 "
                                  "for no limit.", parse=count)

    @property
    def screen_shape(self) -> tuple[int, int]:
        """(height, width) of the screens the network sees."""
        return self.screen_height, self.screen_width


@dataclass(frozen=True)
class ReplaySettings(SettingsGroup, title="replay memory", from_snapshot="always"):
    replay_size: int = option(1_000_000, "Most transitions replay memory keeps.", parse=positive_int)
    history_length: int = option(4, "How many screens form a state.", parse=positive_int, shapes_network=True)
    save_replay_memory: bool = option(True, "Save replay memory beside each snapshot (SNAPSHOT.replay, the latest "
                                      "only), so a resumed run continues exactly.", parse=boolean)
    allow_empty_replay: bool = option(False, "Resume with an empty replay memory when the snapshot's replay file is "
                                      "missing or does not match it.", parse=boolean, from_snapshot="never")
    n_step: int = option(1, "Learn from N-step returns: the rewards of the next N agent steps, discounted, plus the "
                         "discounted value of the state N steps later (stopping where the episode ends). 1 is the "
                         "paper's; 3 is Rainbow's (Hessel et al. 2018).", parse=positive_int)
    replay_compress: bool = option(False, "Keep screens lz4-compressed: 5 to 40%% of the memory depending on the "
                                   "game (1M transitions of Breakout in 0.5 GB instead of 7 GB) at the same training "
                                   "speed.", parse=boolean)


@dataclass(frozen=True)
class NetworkSettings(SettingsGroup, title="network", from_snapshot="always"):
    """A head or target rule other than Nature's is picked by a boolean option declared with ``picks``."""

    learning_rate: float = option(0.00025, "Learning rate.", parse=positive_float)
    discount_rate: float = option(0.99, "Discount rate for future rewards.", parse=probability)
    batch_size: int = option(32, "Transitions per minibatch.", parse=positive_int)
    optimizer: str = option("centered_rmsprop", "centered_rmsprop: Nature's (eps inside the square root); rmsprop: "
                            "the original simple_dqn's; adam.", choices=OPTIMIZERS)
    decay_rate: float = option(0.95, "Decay of RMSProp's running averages.", parse=probability)
    min_squared_gradient: float = option(0.01, "Added inside centered RMSProp's square root.", parse=positive_float)
    adam_epsilon: float = option(1e-8, "Adam's epsilon. The loss is summed over the minibatch, so the gradient is "
                                 "--batch_size times a mean loss's: an epsilon of e here matches e / batch_size "
                                 "with a mean loss.", parse=positive_float)
    update_precision: str = option(
        "float32", "bfloat16: the update's forward and backward passes in bfloat16 (weights, optimizer and loss "
        "stay float32): the fast preset trains 1.2 times as fast on a CPU with AVX512-BF16; elsewhere slower. "
        "auto: bfloat16 where the device computes it natively (a CPU with AVX512-BF16 or AMX, a GPU of compute "
        "capability 8 or more), float32 elsewhere.", choices=("float32", "bfloat16", "auto"))
    clip_error: float = option(1.0, "Clip the TD error to [-x, x] (Huber loss); 0 for the plain squared error.",
                               parse=nonnegative_float)
    min_reward: float = option(-1.0, "Rewards are clipped to at least this for learning.", parse=finite_float)
    max_reward: float = option(1.0, "Rewards are clipped to at most this for learning.", parse=finite_float)
    double_q: bool = option(False, "Double DQN (van Hasselt et al. 2015): the online network chooses the next action, "
                            "the target network values it.", parse=boolean, picks=("target_rule", "double"))
    dueling: bool = option(False, "Dueling network (Wang et al. 2016): the head splits into a state value and action "
                           "advantages, Q = V + A - mean(A).", parse=boolean, shapes_network=True,
                           picks=("head", "dueling"))
    # A sweep places each run itself: on the GPU share Ray gives its task, on the CPU without one.
    backend: str | None = option(None, "Run the network on the CPU or a GPU; when absent, a GPU if PyTorch sees one.",
                                 choices=("cpu", "gpu"), from_snapshot="never", set_by=BY_SWEEP)
    device: str | None = option(None, "cpu, cuda or cuda:N, such as cuda:1; overrides --backend.", parse=device_name,
                                metavar="DEVICE", from_snapshot="never", set_by=BY_SWEEP)

    @property
    def head(self) -> str:
        return self._picked("head") or "nature"

    @property
    def target_rule(self) -> str:
        return self._picked("target_rule") or "max"

    def _picked(self, what: str) -> str | None:
        return next((declaration.picks[1] for field, declaration in self.declarations()
                     if declaration.picks and declaration.picks[0] == what and getattr(self, field.name)), None)


@dataclass(frozen=True)
class AgentSettings(SettingsGroup, title="agent", from_snapshot="always"):
    exploration_rate_start: float = option(1.0, "Exploration rate at the beginning of decay.", parse=probability)
    exploration_rate_end: float = option(0.1, "Exploration rate at the end of decay.", parse=probability)
    exploration_decay_steps: int = option(1_000_000, "Training steps over which exploration decays.", parse=count)
    exploration_rate_test: float = option(0.05, "Exploration rate in test and play.", parse=probability)
    train_frequency: int = option(4, "Agent steps between two updates.", parse=positive_int)
    train_repeat: int = option(1, "Minibatches per update.", parse=positive_int)
    target_steps: int = option(10_000, "Agent steps between copies of the network to the target network; 0 for no "
                               "target network.", parse=count)
    random_starts: int = option(30, "Most no-op starts of each game: 1 to this many no-op emulator frames, drawn "
                                "at random, begin every game (DeepMind's, Gymnasium's noop_max); 0 for none.",
                                parse=count)
    noop_unit: str = option("frames", "What --random_starts counts: frames, so games begin at every phase of the "
                            "frame skip; steps (0 to that many agent steps of no-op), how this toolkit counted them "
                            "before 2.1, which snapshots of those versions keep.", choices=NOOP_UNITS)


DQN_GROUPS: tuple[type[SettingsGroup], ...] = (EnvironmentSettings, ReplaySettings, NetworkSettings, AgentSettings)


def shape_options() -> list[str]:
    """The options a snapshot's network shape depends on."""
    return [field.name for group in DQN_GROUPS for field in fields(group)
            if field.metadata["declaration"].shapes_network]
