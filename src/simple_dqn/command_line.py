"""The command line: argparse built from the settings groups, and the precedence of what sets an option.

An option given on the command line wins; then the evaluation protocol's value; then the config
file's (``--config``, after ``--preset``'s); then, for an option whose policy lets it, the value in the
snapshot loaded; then its default.
"""

import argparse
import dataclasses
import re
import secrets
import sys
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simple_dqn.config_file import preset_path, read_config
from simple_dqn.errors import UsageError
from simple_dqn.files import check_output_path
from simple_dqn.option import METAVARS, OptionParser, SetBy, boolean, policy_from_snapshot
from simple_dqn.runs.evaluation import PROTOCOLS
from simple_dqn.settings import Settings, declarations, flags
from simple_dqn.watch.settings import VIDEO_SUFFIXES

if TYPE_CHECKING:  # snapshots need PyTorch, loaded only when one is named: a mistyped option is answered at once
    from simple_dqn.runs.checkpoint import Snapshot


def refuse_configured(argv: Sequence[str], command: SetBy, why: str) -> None:
    """A preset or config file must not set what ``command`` sets itself, as the command line must not."""
    command_line = CommandLine.parse(argv)
    names = {field.name for _, field, declaration in declarations() if command in declaration.set_by}
    refused = sorted(set(command_line.configured) & names)
    if refused:
        values = command_line.values
        raise UsageError(f"{values['config'] or 'preset ' + values['preset']} sets {refused[0]}: {why}")


def build_parser(suppress_defaults: bool = False, shown_defaults: dict[str, Any] | None = None,
                 only: Collection[str] | None = None) -> OptionParser:
    """With ``suppress_defaults`` the parsed options are only those given on the command line; ``shown_defaults``
    are what --help gives as defaults instead of the declared ones: what a script such as train.sh passes itself;
    ``only``: the options a script's --help shows, all when None."""
    parser = OptionParser(
        prog="python -m simple_dqn",
        usage="%(prog)s [game] [options]",
        description="Train, test or play a Nature DQN on an Atari game. Defaults reproduce Mnih et al. 2015. "
                    "Steps are agent steps (one action = --frame_skip emulator frames). Hyphens may stand for "
                    "underscores (--learning-rate); a true/false option alone means true (--double_q), "
                    "--no-double_q false.",
    )
    for group in Settings.groups():
        fields = [(field, declaration) for field, declaration in group.declarations()
                  if only is None or field.name in only]
        arguments = parser.add_argument_group(group.TITLE) if fields else None
        for field, declaration in fields:
            default = (shown_defaults or {}).get(field.name, field.default)
            settings: dict[str, Any] = {"help": declaration.help,
                                        "default": argparse.SUPPRESS if suppress_defaults else default}
            if declaration.positional:
                settings["nargs"] = "?"
            if declaration.flag:
                settings["action"] = "store_true"
            elif declaration.parse is boolean:
                settings.update(nargs="?", const=True, type=boolean, metavar="BOOL")
            else:
                if declaration.parse is not None:
                    settings["type"] = declaration.parse
                if declaration.choices is not None:
                    settings["choices"] = declaration.choices
                elif not declaration.positional:
                    kind = METAVARS.get(declaration.parse, "PATH") if declaration.parse else "PATH"
                    settings["metavar"] = declaration.metavar or kind
            assert arguments is not None
            arguments.add_argument(*flags(declaration, field.name), **settings)
    return parser


@dataclasses.dataclass(frozen=True)
class CommandLine:
    """``argv`` read once: every option with its default, the names it gives, and what its preset and config set."""

    values: dict[str, Any]
    given: frozenset[str]
    configured: dict[str, Any]

    @classmethod
    def parse(cls, argv: Sequence[str] | None) -> "CommandLine":
        show_help_if_asked(sys.argv[1:] if argv is None else argv)
        values = vars(build_parser().parse_args(argv))
        given = frozenset(vars(build_parser(suppress_defaults=True).parse_args(argv)))
        return cls(values, given, config_values(values["preset"], values["config"]))

    def resolve(self, snapshot_options: dict | None = None, resume: bool = False) -> dict[str, Any]:
        """Every option by name, in the precedence the module docstring gives."""
        values = self.values | {name: value for name, value in self.configured.items() if name not in self.given}
        for group, field, declaration in declarations():
            policy = policy_from_snapshot(group, declaration)
            supplied = policy == "always" or (policy == "resume" and resume)
            chosen = field.name in self.given or field.name in self.configured
            if snapshot_options and field.name in snapshot_options and supplied and not chosen:
                values[field.name] = snapshot_options[field.name]
        for name, value in PROTOCOLS.get(values["protocol"], {}).items():
            if name not in self.given:
                values[name] = value
        return values


def show_help_if_asked(argv: Sequence[str]) -> None:
    """Print --help and exit when asked, with the options given before it as the defaults it shows."""
    options = list(argv[:argv.index("--")] if "--" in argv else argv)
    if "-h" in options or "--help" in options:
        given = [word for word in options if word not in ("-h", "--help")]
        build_parser(shown_defaults=vars(build_parser(suppress_defaults=True).parse_args(given))).parse_args(["-h"])


def config_values(preset: str | None, config: str | None) -> dict[str, Any]:
    """The options the preset sets, then those the config file sets over them."""
    declared = {field.name: field for _, field, _ in declarations()}
    values = read_config(preset_path(preset), declared) if preset else {}
    return values | (read_config(config, declared) if config else {})


def parse_options(argv: Sequence[str] | None, snapshot_options: dict | None = None,
                  resume: bool = False) -> Settings:
    """The settings ``argv`` gives, completed as ``CommandLine.resolve`` says."""
    return Settings.from_values(CommandLine.parse(argv).resolve(snapshot_options, resume))


def read_settings(argv: Sequence[str] | None) -> tuple[Settings, "Snapshot | None"]:
    """The settings, completed from the snapshot that ``--load_weights`` names, and that snapshot.

    A random seed is drawn here when none is given, and kept in the snapshots, so any run can be repeated.
    """
    command_line = CommandLine.parse(argv)
    values = command_line.resolve()
    snapshot = None
    if values["load_weights"]:
        from simple_dqn.runs.checkpoint import load_snapshot

        snapshot = load_snapshot(values["load_weights"])
        values = command_line.resolve(snapshot.options, resume=values["resume"])
        if values["game"] is None:  # the Gymnasium id or the ROM file (while it is there) it was trained with
            trained_with = snapshot.options["game"]
            usable = trained_with and (values["environment"] == "gym" or Path(trained_with).is_file())
            values["game"] = trained_with if usable else snapshot.game
        if values["resume"] and snapshot.weights_only:
            raise UsageError(f"{values['load_weights']} holds a trained agent's weights only, without what a run "
                             "needs to go on: test, play or evaluate it, or start a new run from it without --resume")
        if values["resume"] and snapshot.from_earlier_version:
            raise UsageError(f"snapshot {values['load_weights']} was saved by simple_dqn 2.3.0 or earlier, whose games "
                             "drew their random numbers otherwise: resume it with simple_dqn 2.3.0 (this version "
                             "tests, plays, evaluates and exports it, and starts new runs from its weights)")
        if values["resume"] and values["optimizer"] != snapshot.options["optimizer"]:
            raise UsageError(f"snapshot {values['load_weights']} was trained with --optimizer "
                             f"{snapshot.options['optimizer']}; a resumed run keeps it")
    elif values["resume"]:
        raise UsageError("--resume needs --load_weights SNAPSHOT, the snapshot to continue from")
    if values["random_seed"] is None:
        values["random_seed"] = secrets.randbits(31)
    settings = Settings.from_values(values)
    check_settings(settings)
    if snapshot is not None and settings.loop.resume and snapshot.epoch >= settings.loop.epochs \
            and not snapshot.stopped:
        raise UsageError(f"snapshot {settings.loop.load_weights} is already at epoch {snapshot.epoch} of "
                         f"--epochs {settings.loop.epochs}: pass a larger --epochs to train longer")
    return settings, snapshot


def check_settings(settings: Settings) -> None:
    """The checks that span several options (single options are checked as they are parsed)."""
    environment, loop, display, visualization = settings.environment, settings.loop, settings.display, \
        settings.visualization
    evaluation = settings.evaluation
    if environment.game is None:
        raise UsageError("name a game: a ROM file such as roms/breakout.bin or a game name such as breakout")
    values = settings.values()
    for _, field, declaration in declarations():
        if declaration.writes and values[field.name]:
            check_output_path(values[field.name], declaration.writes, field.name)
    if settings.network.double_q and not settings.agent.target_steps:
        raise UsageError("--double_q values the online network's choice with the target network: give "
                         "--target_steps above 0 (without a target network it would be plain DQN)")
    if settings.network.min_reward > settings.network.max_reward:
        raise UsageError(f"--min_reward {settings.network.min_reward} is larger than --max_reward "
                         f"{settings.network.max_reward}")
    minimum = settings.network.batch_size + settings.replay.history_length
    if (loop.random_steps or loop.train_steps) and settings.replay.replay_size <= minimum:
        raise UsageError(f"--replay_size {settings.replay.replay_size} must exceed --batch_size plus --history_length "
                         f"({minimum}), or learning never starts")
    if environment.num_envs > 1 and loop.play_games:
        raise UsageError("--num_envs above 1 trains and tests: play, record and evaluate play one game at a time")
    if loop.track and not loop.tensorboard:
        raise UsageError("--track mirrors the TensorBoard events to Weights & Biases: it needs --tensorboard true")
    if not (loop.play_games or loop.random_steps or loop.train_steps or loop.test_steps):
        raise UsageError("nothing to do: --random_steps, --train_steps, --test_steps and --play_games are all 0")
    if evaluation.protocol == "gym" and environment.environment != "gym":
        raise UsageError("--protocol gym evaluates on a Gymnasium id: add --environment gym and an id such as "
                         "Breakout-v0, or use --protocol nature")
    if (evaluation.protocol or evaluation.results_folder) and not loop.load_weights:
        raise UsageError("an evaluation plays a snapshot: give --load_weights SNAPSHOT (or use evaluate.sh SNAPSHOT)")
    if (evaluation.protocol or evaluation.results_folder) and not loop.play_games:
        raise UsageError("an evaluation plays whole games: give --episodes 1 or more")
    recording = display.record_screen_path or display.video_file
    if recording and not loop.play_games:
        raise UsageError("recording is of games played: give --play_games 1 or more")
    for _, field, declaration in declarations():
        given = values[field.name] if declaration.placeholders else None
        unknown = set(re.findall(r"\{[^}]*\}", given or "")) - set(declaration.placeholders)
        if unknown:
            raise UsageError(f"--{field.name} {given}: it may name {', '.join(declaration.placeholders)}, "
                             f"not {', '.join(sorted(unknown))}")
    if display.video_file and Path(display.video_file).suffix.lower() not in VIDEO_SUFFIXES:
        raise UsageError(f"--video_file {display.video_file}: a video is written as .mp4 or .mov (H.264), or as "
                         ".gif (an animated picture)")
    if display.sound and not display.video_file:
        raise UsageError("--sound goes into the video: give --video_file too")
    if display.sound and Path(str(display.video_file)).suffix.lower() == ".gif":
        raise UsageError(f"--sound: an animated GIF has no sound; write {Path(str(display.video_file)).stem}.mp4")
    if recording and environment.environment != "ale":
        raise UsageError("recording takes every emulated frame from ale-py's own interface: use --environment ale")
    if visualization.visualization and not visualization.visualization_file:
        raise UsageError("--visualization chooses what the page shows: give --visualization_file too (or use "
                         "./nvis.sh)")
    if visualization.visualization_file and not loop.play_games:
        raise UsageError("the visualization is of games played: give --play_games 1 or more")
    if display.display_screen != "false" and not loop.play_games:
        raise UsageError("the screen is shown for games played: give --play_games 1 or more")
    if display.display_screen != "false" and environment.environment != "ale":
        raise UsageError("the display takes every emulated frame from ale-py's own interface: use --environment ale")
