"""Command-line options, grouped as the original simple_dqn grouped them, with the original's names."""

import argparse
import math
from collections.abc import Callable, Sequence

from deepqnetwork import OPTIMIZERS
from environment import FRAME_POOLS

# Options a snapshot supplies when loaded: what shapes the network and the game it plays.
SNAPSHOT_GROUPS = ("environment", "replay memory", "network", "agent")
# Never taken from a snapshot, even to resume: they describe this machine and this invocation.
NEVER_FROM_SNAPSHOT = {"game", "load_weights", "resume", "allow_empty_replay", "backend", "device", "log_level",
                       "progress", "protocol", "results_folder", "display_screen", "visualization_file",
                       "record_screen_path", "video_file", "sound"}
# The settings each evaluation protocol fixes (options given on the command line still win).
PROTOCOLS = {
    # Mnih et al. 2015: 30 games, up to 30 no-ops at the start, epsilon 0.05, 5 minutes, no sticky actions.
    "nature": {"play_games": 30, "random_starts": 30, "exploration_rate_test": 0.05, "max_test_frames": 18_000,
               "repeat_action_probability": 0.0},
    # Machado et al. 2018: sticky actions instead of no-ops, no life-loss terminals, games of up to 30 minutes.
    "machado": {"play_games": 30, "random_starts": 0, "max_test_frames": 108_000,
                "repeat_action_probability": 0.25, "terminal_on_life_loss": False},
    # The original's test_gym.py: 100 games as the Gymnasium id defines them (its own frame limit).
    "gym": {"play_games": 100, "max_test_frames": 0, "repeat_action_probability": None},
}


class OptionParser(argparse.ArgumentParser):
    """Reports a bad option in one line (no usage dump) and exits with 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see --help)\n")


def number_type(kind: type, low: float | None = None, high: float | None = None, what: str = "") -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}")
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value
    return parse


positive_int = number_type(int, 1, what="at least 1")
screen_height = number_type(int, 36, 210, what="between 36 (the smallest the network takes) and 210 (the Atari screen)")
screen_width = number_type(int, 36, 160, what="between 36 (the smallest the network takes) and 160 (the Atari screen)")
finite_float = number_type(float, what="finite")
count = number_type(int, 0, what="0 or more")
probability = number_type(float, 0.0, 1.0, what="between 0 and 1")
positive_float = number_type(float, 1e-12, what="greater than 0")
nonnegative_float = number_type(float, 0.0, what="0 or more")


def boolean(text: str) -> bool:
    """The original's str2bool, strict: a typo is an error, not False."""
    lowered = text.lower()
    if lowered in ("yes", "true", "t", "1"):
        return True
    if lowered in ("no", "false", "f", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


METAVARS = {positive_int: "N", count: "N", screen_height: "N", screen_width: "N", probability: "P",
            positive_float: "X", nonnegative_float: "X", finite_float: "X", boolean: "BOOL"}


def build_parser(suppress_defaults: bool = False) -> tuple[OptionParser, dict[str, str]]:
    """The parser, and the group each option belongs to (to know what a snapshot may supply).

    With ``suppress_defaults`` the parsed options are only those given on the command line.
    """
    parser = OptionParser(
        prog="main.py",
        usage="%(prog)s [game] [options]",
        description="Train, test or play a Nature DQN on an Atari game. Defaults reproduce Mnih et al. 2015. "
                    "Steps are agent steps (one action = --frame_skip emulator frames).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        allow_abbrev=False,
    )
    group_of: dict[str, str] = {}

    def group(title: str) -> Callable[..., None]:
        arguments = parser.add_argument_group(title)

        def add(*names: str, **settings: object) -> None:
            if suppress_defaults:
                settings["default"] = argparse.SUPPRESS
            if names[0].startswith("--") and "choices" not in settings and settings.get("action") is None:
                settings.setdefault("metavar", METAVARS.get(settings.get("type"), "PATH"))
            action = arguments.add_argument(*names, **settings)
            group_of[action.dest] = title
        return add

    add = group("environment")
    add("game", nargs="?", help="ROM file (roms/breakout.bin) or game name (breakout), or with --environment gym "
        "a Gymnasium id (Breakout-v0); optional when --load_weights names a snapshot, which knows its game")
    add("--environment", choices=("ale", "gym"), default="ale",
        help="ale: ale-py's own interface, the game a ROM file or name; gym: a Gymnasium id such as Breakout-v0, "
             "ALE/Breakout-v5 or BreakoutNoFrameskip-v4, with the frame skip and sticky actions the id defines.")
    add("--frame_skip", type=positive_int, default=4,
        help="How many frames to repeat each chosen action (gym: only for ids that skip none themselves).")
    add("--frame_pool", choices=FRAME_POOLS, default="max",
        help="Combine the last two frames of a step by their maximum (Nature) or ALE's colour averaging (original simple_dqn).")
    add("--repeat_action_probability", type=probability, default=None,
        help="Sticky actions: probability that the emulator repeats the previous action on a frame (Machado et al. "
             "use 0.25); when absent, 0 with ale (as Nature) and the id's own with gym.")
    add("--minimal_action_set", type=boolean, default=True, help="Use the game's minimal action set, not all 18 actions.")
    add("--screen_width", type=screen_width, default=84, help="Screen width after resize.")
    add("--screen_height", type=screen_height, default=84, help="Screen height after resize.")
    add("--terminal_on_life_loss", type=boolean, default=True,
        help="End the episode for learning when a life is lost (training only; the game goes on).")
    add("--max_test_frames", type=count, default=18_000,
        help="Most emulator frames in one test game (18,000 = 5 minutes, as Nature); 0 for no limit.")

    add = group("replay memory")
    add("--replay_size", type=positive_int, default=1_000_000, help="Most transitions replay memory keeps.")
    add("--history_length", type=positive_int, default=4, help="How many screens form a state.")
    add("--save_replay_memory", type=boolean, default=True,
        help="Save replay memory beside each snapshot (SNAPSHOT.replay, the latest only), so a resumed run "
             "continues exactly.")
    add("--allow_empty_replay", type=boolean, default=False,
        help="Resume with an empty replay memory when the snapshot's replay file is missing or does not match it.")
    add("--replay_compress", type=boolean, default=False,
        help="Keep screens lz4-compressed: 5 to 40%% of the memory depending on the game (1M transitions "
             "of Breakout in 0.5 GB instead of 7 GB) at the same training speed.")

    add = group("network")
    add("--learning_rate", type=positive_float, default=0.00025, help="Learning rate.")
    add("--discount_rate", type=probability, default=0.99, help="Discount rate for future rewards.")
    add("--batch_size", type=positive_int, default=32, help="Transitions per minibatch.")
    add("--optimizer", choices=OPTIMIZERS, default="centered_rmsprop",
        help="centered_rmsprop: Nature's (eps inside the square root); rmsprop: the original simple_dqn's; adam.")
    add("--decay_rate", type=probability, default=0.95, help="Decay of RMSProp's running averages.")
    add("--min_squared_gradient", type=positive_float, default=0.01,
        help="Added inside centered RMSProp's square root.")
    add("--clip_error", type=nonnegative_float, default=1.0,
        help="Clip the TD error to [-x, x] (Huber loss); 0 for the plain squared error.")
    add("--min_reward", type=finite_float, default=-1.0, help="Rewards are clipped to at least this for learning.")
    add("--max_reward", type=finite_float, default=1.0, help="Rewards are clipped to at most this for learning.")
    add("--double_q", type=boolean, default=False,
        help="Double DQN (van Hasselt et al. 2015): the online network chooses the next action, the target "
             "network values it.")
    add("--dueling", type=boolean, default=False,
        help="Dueling network (Wang et al. 2016): the head splits into a state value and action advantages, "
             "Q = V + A - mean(A).")
    add("--backend", choices=("cpu", "gpu"), default=None, help="Run the network on the CPU or a GPU; when absent, a GPU if PyTorch sees one.")
    add("--device", default=None, metavar="DEVICE", help="A PyTorch device such as cuda:1; overrides --backend.")

    add = group("agent")
    add("--exploration_rate_start", type=probability, default=1.0, help="Exploration rate at the beginning of decay.")
    add("--exploration_rate_end", type=probability, default=0.1, help="Exploration rate at the end of decay.")
    add("--exploration_decay_steps", type=count, default=1_000_000, help="Training steps over which exploration decays.")
    add("--exploration_rate_test", type=probability, default=0.05, help="Exploration rate in test and play.")
    add("--train_frequency", type=positive_int, default=4, help="Agent steps between two updates.")
    add("--train_repeat", type=positive_int, default=1, help="Minibatches per update.")
    add("--target_steps", type=count, default=10_000,
        help="Agent steps between copies of the network to the target network; 0 for no target network.")
    add("--random_starts", type=count, default=30, help="Most no-op actions at the start of each game (a random number of them).")

    add = group("main loop")
    add("--random_steps", type=count, default=50_000, help="Random steps filling replay memory before learning.")
    add("--train_steps", type=count, default=250_000, help="Training steps per epoch.")
    add("--test_steps", type=count, default=125_000, help="Test steps after each epoch.")
    add("--epochs", type=positive_int, default=200, help="Epochs to run (a resumed run counts the epochs it already has).")
    add("--play_games", "--episodes", type=count, default=0,
        help="Play this many games with the test exploration rate, instead of training.")
    add("--validation_size", type=positive_int, default=500,
        help="States drawn once from replay memory on which meanq (the average max Q-value) is measured.")
    add("--load_weights", default=None, help="Load this snapshot; it supplies the game and the environment, "
        "replay memory, network and agent options, unless given here.")
    add("--resume", action="store_true", help="With --load_weights: continue that training run where it stopped.")
    add("--save_weights_prefix", default=None,
        help="Save a snapshot after each epoch to PREFIX_EPOCH.pkl; {game} is replaced by the game's name.")
    add("--csv_file", default=None, help="Write one row per phase to this CSV file; {game} is replaced by the game's name.")

    add = group("evaluation")
    add("--protocol", choices=tuple(PROTOCOLS), default=None,
        help="Evaluate as a paper did: nature (30 games, up to 30 no-ops, epsilon 0.05, 18,000 frames, no sticky "
             "actions), machado (sticky actions 0.25, no no-ops, 108,000 frames) or gym (100 games as the "
             "Gymnasium id defines them); sets --play_games and the options it names, unless given.")
    add("--results_folder", default=None, help="Write each played game (episodes.csv) and their summary "
        "(summary.json) here; {game} is replaced by the game's name and {protocol} by the protocol's.")

    add = group("display and recording")
    add("--display_screen", choices=("false", "true", "window", "terminal"), default="false",
        help="Show the games played: true picks a window when a graphical display is set, else draws in the text "
             "terminal; window or terminal forces one. Keys: a slower, s faster, m manual control (arrows and space), "
             "[ ] volume, q quit.")
    add("--record_screen_path", default=None,
        help="Write every emulated frame of the games played as NNNNNN.png in this folder; {game}, {epoch} and "
             "{snapshot} (the snapshot's file name) are replaced.")
    add("--video_file", default=None, help="Encode the games played as an H.264 video at 60 frames per second "
        "(.mp4, or .mov); {game}, {epoch} and {snapshot} are replaced.")
    add("--sound", type=boolean, default=False, help="Put the game's sound in the video.")

    add = group("visualization")
    add("--visualization_file", default=None, help="Write an HTML page of what the network looks at in the games "
        "played; {game} is replaced.")
    add("--visualization", choices=("guided", "saliency"), default=None,
        help="guided (the default): for each convolutional layer's first filters, the state where each activates "
             "most and its guided backpropagation map; saliency: the gradient of the action taken for a few states in a row.")
    add("--visualization_filters", type=positive_int, default=4, help="Filters shown per convolutional layer.")
    add("--visualization_states", type=positive_int, default=8, help="States shown with --visualization saliency.")

    add = group("common")
    add("--random_seed", type=count, default=None, help="Seed for repeatable runs (on the CPU); a random one is drawn and logged when absent.")
    add("--log_level", choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), default="INFO", help="Log level.")
    add("--progress", type=boolean, default=True, help="Show a progress bar with steps per second during each phase.")
    return parser, group_of


def parse_options(argv: Sequence[str] | None, snapshot_options: dict | None = None,
                  resume: bool = False) -> argparse.Namespace:
    """Parse ``argv``; options it leaves out come from ``--protocol``, then from the snapshot where it may supply them."""
    parser, group_of = build_parser()
    options = parser.parse_args(argv)
    explicit = set(vars(build_parser(suppress_defaults=True)[0].parse_args(argv)))
    for name, value in (snapshot_options or {}).items():
        supplied = resume or group_of.get(name) in SNAPSHOT_GROUPS
        if name in group_of and supplied and name not in explicit and name not in NEVER_FROM_SNAPSHOT:
            setattr(options, name, value)
    for name, value in PROTOCOLS.get(options.protocol, {}).items():
        if name not in explicit:
            setattr(options, name, value)
    return options
