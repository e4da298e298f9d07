"""Train, test or play a Nature DQN on an Atari game: ``python src/main.py --help``."""

import argparse
import csv
import logging
import os
import re
import secrets
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import psutil
import torch

from agent import Agent
from allocator import keep_freed_memory
from deepqnetwork import DeepQNetwork, resolve_device
from display import choose_display, open_display
from environment import ALEEnvironment, Environment
from errors import UsageError, exit_code_of
from heads import chosen_head
from evaluation import summary_line as evaluation_summary_line
from evaluation import write_evaluation
from files import ensure_writable_folder, remove_unfinished_writes
from options import parse_options
from replay_file import load_replay, replay_save_id, save_replay
from replay_memory import ReplayMemory, bytes_per_transition, check_fits_in_memory
from recorder import VIDEO_SUFFIXES, GameRecorder
from snapshot_path import snapshots_of_run
from target_rules import chosen_target_rule
from snapshot import check_compatible, load_snapshot, pack_screens, save_snapshot, unpack_screens
from phase_statistics import PHASE_ORDER, Statistics, keep_rows_before, read_csv_rows
from visualization import StateRecorder, guided_backprop_sections, saliency_sections, write_page
from watcher import GameWatcher

log = logging.getLogger(__name__)
# What each output path may name, filled in when the run starts.
PLACEHOLDERS = {"csv_file": ("{game}",), "save_weights_prefix": ("{game}",), "results_folder": ("{game}", "{protocol}"),
                "record_screen_path": ("{game}", "{epoch}", "{snapshot}"),
                "video_file": ("{game}", "{epoch}", "{snapshot}"), "visualization_file": ("{game}",)}


def main(argv: Sequence[str] | None = None) -> int:
    return exit_code_of(lambda: run(argv), "stopped before the run began; nothing was changed")


def run(argv: Sequence[str] | None) -> int:
    keep_freed_memory()
    options, snapshot = read_options(argv)
    display_kind = choose_display(options.display_screen) if options.display_screen != "false" else None
    logging.basicConfig(format="%(asctime)s %(message)s", level=options.log_level)
    if options.random_seed is None:  # drawn here and kept in the snapshots, so any run can be repeated
        options.random_seed = secrets.randbits(31)
    seed = options.random_seed
    agent_seed, memory_seed, torch_seed, emulator_seed = np.random.SeedSequence(seed).spawn(4)
    torch.manual_seed(int(torch_seed.generate_state(1)[0]))

    # A window plays the game's sound; a video takes it when asked.
    sound = options.sound or display_kind == "window"
    environment = make_environment(options, int(emulator_seed.generate_state(1)[0] >> 1), sound)
    if snapshot is not None:
        check_compatible(snapshot, options.load_weights, environment.game, environment.action_names(), vars(options))
    csv_path, prefix = output_paths(options, environment.name)
    results_folder = evaluation_folder(options, environment.name)
    visualization_path = output_file(options.visualization_file, environment.name, "visualization")
    if options.protocol in ("nature", "machado") and environment.skips_frames_itself:
        log.warning("%s skips frames itself without max-pooling, which the %s protocol does not: evaluate on "
                    "its NoFrameskip id for the paper's preprocessing", options.game, options.protocol)
    finished = False
    training = not options.play_games and (options.random_steps > 0 or options.train_steps > 0)
    resume_point = next_phase(snapshot) if options.resume else None
    if options.resume:
        refuse_to_overwrite_later_snapshots(prefix, snapshot["epoch"], options.load_weights)
    elif training:
        refuse_to_overwrite(prefix, csv_path)
    if training:
        check_results_file(csv_path)
    device = resolve_device(options.backend, options.device)
    network = make_network(options, environment.num_actions(), device)
    memory = make_memory(options, memory_seed) if training else None
    statistics = Statistics(csv_path, snapshot["counters"]["total_time"] if options.resume else 0.0, options.progress)
    agent = make_agent(options, environment, network, memory, statistics, agent_seed)
    runner = PhaseRunner(options, environment, network, memory, agent, statistics, prefix, memory_seed)
    if snapshot is not None:
        runner.restore(snapshot, resume=options.resume)
        log.info("loaded %s (epoch %d)%s", options.load_weights, snapshot["epoch"], ", resuming" if options.resume else "")
    log.info("%s with %d actions (%s) on %s, random seed %d", environment.name, environment.num_actions(),
             ", ".join(environment.action_names()), device, seed)

    # Every check has passed: only now change files an earlier run left.
    if training:
        remove_unfinished_writes_of_run(csv_path, prefix)
    if options.resume:
        trim_results(csv_path, *resume_point)
    elif training and csv_path and csv_path.exists():
        log.warning("replacing %s: no snapshot of its run exists to continue it", csv_path)
        csv_path.unlink()

    signal.signal(signal.SIGINT, lambda *_: request_stop(agent, again_stops_now=True))
    signal.signal(signal.SIGTERM, lambda *_: request_stop(agent, again_stops_now=False))
    if options.play_games:
        watcher = make_watcher(display_kind, options, environment, agent, statistics)
        state_recorder = StateRecorder(agent) if visualization_path else None
        recorder = None
        try:
            recorder = make_recorder(options, environment, snapshot["epoch"] if snapshot else 0)
            runner.play()
        finally:
            if watcher is not None:
                watcher.display.close()
            if recorder is not None:
                recorder.close()
        recorded = f"; the recording holds what was played: {recorder.video_file or recorder.folder}" if recorder else ""
        if watcher is not None and watcher.quit:
            manual = f", {watcher.manual_steps} steps under manual control" if watcher.manual_steps else ""
            unwritten = "; no page or results are written for games cut short" if visualization_path or results_folder else ""
            print(f"quit after {len(statistics.game_rewards)} of {options.play_games} games{manual}{recorded}{unwritten}")
            return 0
        if agent.stop_requested and recorder is not None:
            print(f"stopped after {len(statistics.game_rewards)} of {options.play_games} games{recorded}",
                  file=sys.stderr)
            return 130
        finished = not agent.stop_requested  # Ctrl-C while the page or the results are written changes nothing
        if visualization_path and finished:
            visualize(options, environment, network, state_recorder, visualization_path)
        if results_folder and finished:
            summary = write_evaluation(results_folder, statistics.game_rewards, statistics.game_frames,
                                       game=environment.game, environment=f"{options.environment} {options.game}",
                                       protocol=options.protocol, settings=evaluation_settings(options, environment),
                                       snapshot=options.load_weights, seed=seed)
            print(evaluation_summary_line(summary))
            log.info("wrote %s and %s", results_folder / "episodes.csv", results_folder / "summary.json")
    elif training:
        runner.train_and_test(resume_point, snapshot.get("interrupted") if options.resume else None)
    else:
        runner.test_only(snapshot["epoch"] if snapshot else 0)
    if agent.stop_requested and not (options.play_games and finished):
        print(runner.interrupted_message(), file=sys.stderr)
        return 0 if training and runner.saved_on_stop else 130
    log.info("all done")
    return 0


def read_options(argv: Sequence[str] | None) -> tuple[argparse.Namespace, dict | None]:
    """The options, completed from the snapshot that ``--load_weights`` names, and that snapshot."""
    options = parse_options(argv)
    snapshot = None
    if options.load_weights:
        snapshot = load_snapshot(options.load_weights)
        options = parse_options(argv, snapshot["options"], resume=options.resume)
        if options.game is None:  # the Gymnasium id or the ROM file (while it is there) it was trained with
            trained_with = snapshot["options"]["game"]
            usable = trained_with and (options.environment == "gym" or Path(trained_with).is_file())
            options.game = trained_with if usable else snapshot["game"]
        if options.resume and options.optimizer != snapshot["options"]["optimizer"]:
            raise UsageError(f"snapshot {options.load_weights} was trained with --optimizer "
                             f"{snapshot['options']['optimizer']}; a resumed run keeps it")
    elif options.resume:
        raise UsageError("--resume needs --load_weights SNAPSHOT, the snapshot to continue from")
    check_options(options)
    if options.resume and snapshot["epoch"] >= options.epochs and not snapshot.get("interrupted"):
        raise UsageError(f"snapshot {options.load_weights} is already at epoch {snapshot['epoch']} of "
                         f"--epochs {options.epochs}: pass a larger --epochs to train longer")
    return options, snapshot


def screen_shape(options: argparse.Namespace) -> tuple[int, int]:
    return options.screen_height, options.screen_width


def make_environment(options: argparse.Namespace, seed: int, sound: bool = False) -> Environment:
    settings = dict(
        frame_skip=options.frame_skip,
        frame_pool=options.frame_pool,
        repeat_action_probability=options.repeat_action_probability,
        minimal_action_set=options.minimal_action_set,
        screen_shape=screen_shape(options),
        terminal_on_life_loss=options.terminal_on_life_loss,
        max_test_frames=options.max_test_frames,
        seed=seed,
    )
    if options.environment == "gym":
        from gym_environment import GymEnvironment  # Gymnasium is imported only by those who use it

        return GymEnvironment(options.game, **settings)
    return ALEEnvironment(options.game, **settings, sound=sound)


def make_recorder(options: argparse.Namespace, environment: ALEEnvironment, epoch: int) -> GameRecorder | None:
    """A recorder of every frame the environment emulates, when asked for; it is handed each one as it comes."""
    if not (options.record_screen_path or options.video_file):
        return None

    snapshot = Path(options.load_weights).stem if options.load_weights else environment.name

    def filled(path: str | None) -> Path | None:
        if not path:
            return None
        return Path(path.replace("{game}", environment.name).replace("{epoch}", str(epoch))
                    .replace("{snapshot}", snapshot))

    folder, video = filled(options.record_screen_path), filled(options.video_file)
    for path in (folder, video.parent if video else None):
        if path is not None:
            ensure_writable_folder(path, "recordings")
    recorder = GameRecorder(folder, video, options.sound)
    environment.frame_listeners.append(lambda: recorder.add(environment.ale.getScreenRGB(),
                                                            environment.ale.getAudio() if options.sound else None))
    return recorder


def make_watcher(display_kind: str | None, options: argparse.Namespace, environment: ALEEnvironment, agent: Agent,
                 statistics: Statistics) -> GameWatcher | None:
    """The display the games are shown on, when asked for, and what drives it."""
    if display_kind is None:
        return None
    snapshot = f" ({Path(options.load_weights).name})" if options.load_weights else ""
    display = open_display(display_kind, f"simple_dqn: {environment.name}{snapshot}", environment.action_names(),
                           environment.sound)
    if display.uses_terminal:
        statistics.progress = False  # a progress bar would write over the picture
    return GameWatcher(display, environment, agent, options.play_games)


def visualize(options: argparse.Namespace, environment: Environment, network: DeepQNetwork, recorder: StateRecorder,
              path: Path) -> None:
    """The page of what the network looked at in the games just played."""
    states = np.stack(recorder.states)
    source = f"{Path(options.load_weights).name}, " if options.load_weights else "an untrained network, "
    if options.visualization == "saliency":
        sections = saliency_sections(network.online, states, recorder.actions, environment.action_names(),
                                     np.stack(recorder.q_values), options.visualization_states)
        title = f"Saliency: {environment.name}"
        explanation = (f"{source}{len(states)} states of {options.play_games} game(s) played. Each map is the "
                       "gradient of the Q-value of the action taken with respect to the input state.")
    else:
        sections = guided_backprop_sections(network.online, states, options.visualization_filters)
        title = f"Guided backpropagation: {environment.name}"
        explanation = (f"{source}{len(states)} states of {options.play_games} game(s) played. For each filter, "
                       "the state and position where it activates most, and the guided backpropagation of that "
                       "one activation to the input (Springenberg et al. 2014).")
    write_page(path, title, explanation, sections, "the Q-value" if options.visualization == "saliency" else "the filter")
    figures = sum(len(figures) for _, figures in sections)
    log.info("wrote %s: %d figures from %d states, %.2f MB", path, figures, len(states), path.stat().st_size / 1e6)
    print(f"wrote {path}")


def make_network(options: argparse.Namespace, num_actions: int, device: torch.device) -> DeepQNetwork:
    return DeepQNetwork(
        num_actions,
        history_length=options.history_length,
        screen_shape=screen_shape(options),
        discount_rate=options.discount_rate,
        learning_rate=options.learning_rate,
        optimizer=options.optimizer,
        decay_rate=options.decay_rate,
        min_squared_gradient=options.min_squared_gradient,
        clip_error=options.clip_error,
        min_reward=options.min_reward,
        max_reward=options.max_reward,
        use_target_network=options.target_steps > 0,
        head=chosen_head(vars(options)),
        target_rule=chosen_target_rule(vars(options)),
        device=device,
    )


def make_agent(options: argparse.Namespace, environment: Environment, network: DeepQNetwork,
               memory: ReplayMemory | None, statistics: Statistics, seed: np.random.SeedSequence) -> Agent:
    return Agent(
        environment, network, memory, statistics,
        history_length=options.history_length,
        screen_shape=screen_shape(options),
        exploration_rate_start=options.exploration_rate_start,
        exploration_rate_end=options.exploration_rate_end,
        exploration_decay_steps=options.exploration_decay_steps,
        exploration_rate_test=options.exploration_rate_test,
        train_frequency=options.train_frequency,
        train_repeat=options.train_repeat,
        target_steps=options.target_steps,
        random_starts=options.random_starts,
        seed=seed,
    )


def check_results_file(csv_path: Path | None) -> None:
    """A resumed run appends to its CSV, a new one replaces it: either way it must be one of ours."""
    if csv_path and csv_path.exists():
        try:
            rows = read_csv_rows(csv_path)
            if any(row["phase"] not in PHASE_ORDER for row in rows):
                raise ValueError("a phase that is not random, train or test")
            [int(row["epoch"]) for row in rows]
        except (KeyError, ValueError, TypeError, csv.Error, UnicodeDecodeError):
            raise UsageError(f"{csv_path} is not a results CSV of simple_dqn: move it away, or write elsewhere "
                             "with --csv_file") from None


def next_phase(snapshot: dict) -> tuple[int, str]:
    """Where a resumed run begins: the phase a snapshot was saved in the middle of, or the next epoch."""
    interrupted = snapshot.get("interrupted")
    if interrupted and interrupted.get("phase") not in PHASE_ORDER:
        raise UsageError("the snapshot is damaged: the phase it stopped in is not one of random, train, test")
    episode = interrupted.get("episode") if interrupted else None
    if episode is not None and not (isinstance(episode, dict) and isinstance(episode.get("screens"), torch.Tensor)
                                    and episode["screens"].dtype == torch.uint8 and episode["screens"].dim() == 3
                                    and isinstance(episode.get("environment"), dict)):
        raise UsageError("the snapshot is damaged: the game it stopped in cannot be read")
    return (snapshot["epoch"], interrupted["phase"]) if interrupted else (snapshot["epoch"] + 1, "train")


def trim_results(csv_path: Path | None, epoch: int, phase: str) -> None:
    if csv_path and csv_path.exists():
        dropped = keep_rows_before(csv_path, epoch, phase)
        if dropped:
            log.warning("dropped %d rows from epoch %d %s on from %s: they came from a run past this snapshot",
                        dropped, epoch, phase, csv_path)


def check_options(options: argparse.Namespace) -> None:
    """The checks that span several options (single options are checked as they are parsed)."""
    if options.game is None:
        raise UsageError("name a game: a ROM file such as roms/breakout.bin or a game name such as breakout")
    if options.double_q and not options.target_steps:
        raise UsageError("--double_q values the online network's choice with the target network: give "
                         "--target_steps above 0 (without a target network it would be plain DQN)")
    if options.min_reward > options.max_reward:
        raise UsageError(f"--min_reward {options.min_reward} is larger than --max_reward {options.max_reward}")
    if (options.random_steps or options.train_steps) and options.replay_size <= options.batch_size + options.history_length:
        raise UsageError(f"--replay_size {options.replay_size} must exceed --batch_size plus --history_length "
                         f"({options.batch_size + options.history_length}), or learning never starts")
    if not (options.play_games or options.random_steps or options.train_steps or options.test_steps):
        raise UsageError("nothing to do: --random_steps, --train_steps, --test_steps and --play_games are all 0")
    if options.protocol == "gym" and options.environment != "gym":
        raise UsageError("--protocol gym evaluates on a Gymnasium id: add --environment gym and an id such as "
                         "Breakout-v0, or use --protocol nature")
    if (options.protocol or options.results_folder) and not options.load_weights:
        raise UsageError("an evaluation plays a snapshot: give --load_weights SNAPSHOT (or use evaluate.sh SNAPSHOT)")
    if (options.protocol or options.results_folder) and not options.play_games:
        raise UsageError("an evaluation plays whole games: give --episodes 1 or more")
    if (options.record_screen_path or options.video_file) and not options.play_games:
        raise UsageError("recording is of games played: give --play_games 1 or more")
    for option, known in PLACEHOLDERS.items():
        unknown = set(re.findall(r"\{[^}]*\}", getattr(options, option) or "")) - set(known)
        if unknown:
            raise UsageError(f"--{option} {getattr(options, option)}: it may name {', '.join(known)}, "
                             f"not {', '.join(sorted(unknown))}")
    if options.video_file and Path(options.video_file).suffix.lower() not in VIDEO_SUFFIXES:
        raise UsageError(f"--video_file {options.video_file}: an H.264 video is written as {' or '.join(VIDEO_SUFFIXES)}")
    if options.sound and not options.video_file:
        raise UsageError("--sound goes into the video: give --video_file too")
    if (options.record_screen_path or options.video_file) and options.environment != "ale":
        raise UsageError("recording takes every emulated frame from ale-py's own interface: use --environment ale")
    if options.visualization and not options.visualization_file:
        raise UsageError("--visualization chooses what the page shows: give --visualization_file too (or use ./nvis.sh)")
    if options.visualization_file and not options.play_games:
        raise UsageError("the visualization is of games played: give --play_games 1 or more")
    if options.display_screen != "false" and not options.play_games:
        raise UsageError("the screen is shown for games played: give --play_games 1 or more")
    if options.display_screen != "false" and options.environment != "ale":
        raise UsageError("the display takes every emulated frame from ale-py's own interface: use --environment ale")


def remove_unfinished_writes_of_run(csv_path: Path | None, prefix: str | None) -> None:
    """A run killed while writing leaves temporary files, and a replay memory never put in place: this run's own
    are removed, never another run's."""
    patterns = []
    if csv_path:
        patterns.append((csv_path.parent, re.escape(csv_path.name)))
    if prefix:
        name = re.escape(Path(prefix).name)
        patterns += [(Path(prefix).parent, rf"{name}_\d+\.pkl"), (Path(prefix).parent, rf"{name}\.replay(\.new)?")]
    removed = sum(remove_unfinished_writes(folder, pattern) for folder, pattern in patterns)
    if prefix and replay_paths(prefix)[1].exists():
        replay_paths(prefix)[1].unlink()
        removed += 1
    if removed:
        log.warning("removed %d files that a run killed while writing left unfinished", removed)


def output_paths(options: argparse.Namespace, game: str) -> tuple[Path | None, str | None]:
    """The CSV file and snapshot prefix with ``{game}`` filled in, their folders checked for writing."""
    csv_path = Path(options.csv_file.replace("{game}", game)) if options.csv_file else None
    prefix = options.save_weights_prefix.replace("{game}", game) if options.save_weights_prefix else None
    if csv_path:
        ensure_writable_folder(csv_path.parent, "results")
    if prefix:
        ensure_writable_folder(Path(prefix).parent, "snapshots")
    return csv_path, prefix


def output_file(template: str | None, name: str, what: str) -> Path | None:
    """``template`` with ``{game}`` filled in, its folder checked for writing."""
    if not template:
        return None
    path = Path(template.replace("{game}", name))
    if path.is_dir():
        raise UsageError(f"the {what} file {path} is a folder: name a file in it, such as {path / (name + '.html')}")
    ensure_writable_folder(path.parent, what)
    return path


def evaluation_settings(options: argparse.Namespace, environment: Environment) -> dict:
    """What the games were played with, as the emulator has it: a protocol's own values or what overrode them."""
    return {
        "no_op_starts_up_to": options.random_starts,
        "exploration_rate": options.exploration_rate_test,
        "max_frames_per_game": options.max_test_frames or None,
        "sticky_actions": round(environment.ale.getFloat("repeat_action_probability"), 6),
        "frame_skip": environment.frame_skip,
        "life_loss_ends_episode": False,  # in evaluation, as in every test phase
    }


def evaluation_folder(options: argparse.Namespace, name: str) -> Path | None:
    """``--results_folder`` with ``{game}`` and ``{protocol}`` filled in, checked for writing."""
    if not options.results_folder:
        return None
    folder = Path(options.results_folder.replace("{game}", name).replace("{protocol}", options.protocol or "custom"))
    ensure_writable_folder(folder, "evaluation results")
    return folder


def snapshot_path(prefix: str, epoch: int) -> Path:
    return Path(f"{prefix}_{epoch}.pkl")


def run_prefix(snapshot: Path) -> str:
    """``snapshots/breakout_3.pkl`` -> ``snapshots/breakout``: what a run's files are named after."""
    return re.sub(r"_\d+\.pkl$", "", str(snapshot))


def replay_paths(prefix: str) -> tuple[Path, Path]:
    """The run's replay memory, kept for its newest snapshot only, and the one being saved with the next."""
    return Path(f"{prefix}.replay"), Path(f"{prefix}.replay.new")


def newest_snapshot_after(prefix: str | None, epoch: int) -> Path | None:
    """The newest snapshot ``PREFIX_<e>.pkl`` with ``e > epoch`` that exists, if any."""
    later = {number: path for number, path in snapshots_of_run(prefix).items() if number > epoch} if prefix else {}
    return later[max(later)] if later else None


def refuse_to_overwrite(prefix: str | None, csv_path: Path | None) -> None:
    """A new run must not replace the snapshots of an earlier one (a CSV that no snapshot continues may go)."""
    newest = newest_snapshot_after(prefix, 0)
    if newest:
        raise UsageError(f"{newest} and {csv_path or 'its results'} hold an earlier run: continue it with "
                         f"./resume.sh {newest}, name this run differently (./train.sh GAME LABEL), or move them away")


def refuse_to_overwrite_later_snapshots(prefix: str | None, epoch: int, resumed: str) -> None:
    """Resuming from an older snapshot would replace the newer ones as it goes: say so instead."""
    newest = newest_snapshot_after(prefix, epoch)
    if newest:
        raise UsageError(f"{newest} is newer than {resumed} and resuming would overwrite it: resume from "
                         f"./resume.sh {newest}, or move the snapshots after epoch {epoch} away to start over from it")


def make_memory(options: argparse.Namespace, seed: np.random.SeedSequence) -> ReplayMemory:
    shape = screen_shape(options)
    compress = options.replay_compress
    check_fits_in_memory(options.replay_size, shape, compress)
    memory = ReplayMemory(options.replay_size, shape, options.history_length, options.batch_size, seed, compress)
    if compress:
        log.info("replay memory: %d transitions, screens compressed (planned for %.2f GB when full; "
                 "most games need far less)", options.replay_size, options.replay_size * bytes_per_transition(shape, True) / 1e9)
    else:
        log.info("replay memory: %d transitions of %d bytes each, %.2f GB when full", options.replay_size,
                 bytes_per_transition(shape), memory.nbytes / 1e9)
    return memory


def report_compressed_memory(memory: ReplayMemory) -> None:
    """How well this game's screens compress is known only once some are stored: say what that means."""
    projected = memory.projected_nbytes()
    log.info("replay memory: screens compressed to %d bytes per transition so far; full, about %.2f GB",
             projected // memory.size, projected / 1e9)
    available = psutil.virtual_memory().available + memory.nbytes
    if projected > available:
        log.warning("replay memory will need about %.1f GB when full but only %.1f GB are free: "
                    "lower --replay_size to %d or less", projected / 1e9, available / 1e9,
                    int(memory.size * available * 0.9 / projected))


def request_stop(agent: Agent, again_stops_now: bool) -> None:
    """Ctrl-C or SIGTERM: let the current step finish, then stop at a safe point. A second Ctrl-C is a person
    in a hurry: stop now (files are written atomically, so none is left half-written). A repeated SIGTERM is
    a scheduler or a parent's death signal sent again, which must not cut the save short."""
    if agent.stop_requested and again_stops_now:
        raise SystemExit(130)
    agent.stop_requested = True


class PhaseRunner:
    """Runs the phases in order and writes what each one produces: CSV rows and snapshots."""

    def __init__(self, options: argparse.Namespace, environment: Environment, network: DeepQNetwork,
                 memory: ReplayMemory | None, agent: Agent, statistics: Statistics, prefix: str | None,
                 memory_seed: np.random.SeedSequence) -> None:
        self.options = options
        self.environment = environment
        self.network = network
        self.memory = memory
        self.agent = agent
        self.statistics = statistics
        self.prefix = prefix
        self.validation_states: np.ndarray | None = None
        self.epoch = 0
        self.phase = ""
        self.last_snapshot: Path | None = Path(options.load_weights) if options.resume else None
        self.memory_seed = memory_seed
        self.saved_on_stop = False

    def restore_replay(self, snapshot_file: Path, save_id: str, epoch: int, replay_saved: bool) -> None:
        """The replay memory saved with the snapshot; an empty one only when the user allows it."""
        saved, pending = replay_paths(run_prefix(snapshot_file))
        if replay_save_id(pending) == save_id:  # the run stopped between saving the snapshot and renaming this
            os.replace(pending, saved)
        path = saved
        try:
            if not replay_saved:
                raise UsageError(f"snapshot {snapshot_file} was saved without its replay memory "
                                 "(--save_replay_memory false)")
            load_replay(path, self.memory, save_id, epoch)
        except UsageError as error:
            if not self.options.allow_empty_replay:
                raise UsageError(f"{error}; resume with --allow_empty_replay true to go on with an empty replay "
                                 "memory (the run then differs from one never interrupted)") from None
            log.warning("%s; going on with an empty replay memory, as --allow_empty_replay asks", error)
            self.memory = make_memory(self.options, self.memory_seed)
            self.agent.memory = self.memory
            return
        log.info("loaded %s: %d transitions", path, self.memory.count)

    def restore(self, snapshot: dict, resume: bool) -> None:
        """The weights to test or play; to resume, everything ``_save`` kept of the training run."""
        try:
            self.network.load_state_dict(snapshot["network"], with_training_state=resume)
        except (RuntimeError, KeyError, ValueError) as error:
            raise UsageError(f"snapshot does not fit this network: {str(error).splitlines()[0]}") from None
        if not resume:
            return
        counters = snapshot["counters"]
        self.agent.total_train_steps = counters["total_train_steps"]
        self.agent.weight_updates = counters["weight_updates"]
        self.agent.rng.bit_generator.state = snapshot["rng"]["agent"]
        torch.set_rng_state(snapshot["rng"]["torch"])
        if self.memory is not None:
            self.memory.rng.bit_generator.state = snapshot["rng"]["memory"]
        if snapshot["validation_states"] is not None:
            self.validation_states = unpack_screens(snapshot["validation_states"])
        if "emulator" in snapshot:  # absent from the snapshots of earlier versions
            self.environment.restore_emulator_state(snapshot["emulator"].numpy().tobytes())
        if self.memory is not None:
            self.restore_replay(Path(self.options.load_weights), snapshot.get("save_id", ""), snapshot["epoch"],
                                snapshot.get("replay_saved", True))

    def plan(self) -> list[tuple[int, str, int]]:
        """Every phase of the run in order: (epoch, phase, steps)."""
        options = self.options
        phases = [(0, "random", options.random_steps)]
        for epoch in range(1, options.epochs + 1):
            phases += [(epoch, "train", options.train_steps), (epoch, "test", options.test_steps)]
        return [phase for phase in phases if phase[2] > 0]

    def train_and_test(self, resume_point: tuple[int, str] | None, interrupted: dict | None) -> None:
        """The phases of the plan from ``resume_point`` on, a snapshot at each epoch's end and where Ctrl-C stops it."""
        plan = self.plan()
        start = 0 if resume_point is None else next(
            (index for index, (epoch, phase, _) in enumerate(plan)
             if (epoch, PHASE_ORDER.index(phase)) >= (resume_point[0], PHASE_ORDER.index(resume_point[1]))), len(plan))
        players = {"random": self.agent.play_random, "train": self.agent.train, "test": self.agent.test}
        saves = bool(self.prefix and self.options.train_steps)
        for index in range(start, len(plan)):
            epoch, phase, steps = plan[index]
            row = self._phase(epoch, phase, steps, players[phase], interrupted if index == start else None)
            if row is None:  # stopped inside the phase: saved where it stopped, to finish the phase on resuming
                if saves:
                    self._save(epoch, interrupted={"phase": phase, "steps_done": self.statistics.steps,
                                                   "statistics": self.statistics.phase_so_far(),
                                                   "episode": self._episode_in_progress()})
                    self.saved_on_stop = True
                return
            if phase == "random" and self.options.replay_compress:
                report_compressed_memory(self.memory)
            epoch_ends = index + 1 == len(plan) or plan[index + 1][0] != epoch
            if epoch_ends and epoch > 0 and saves:
                self._save(epoch)  # at the epoch's end, so a resumed run goes on from the very same state
            if self.agent.stop_requested:  # between two phases: the next one begins on resuming, nothing lost
                if saves and not epoch_ends and index + 1 < len(plan):
                    following_epoch, following = plan[index + 1][:2]
                    self._save(following_epoch, interrupted={"phase": following, "steps_done": 0,
                                                             "statistics": Statistics.nothing_counted()})
                self.saved_on_stop = saves
                return

    def test_only(self, epoch: int) -> None:
        """One test phase, labelled with the epoch of the snapshot it tests; prints the scores."""
        row = self._phase(epoch, "test", self.options.test_steps, self.agent.test)
        if row is not None:
            print(test_result_line(row))

    def play(self) -> None:
        self._phase(0, "play", None, lambda _: self.agent.play(self.options.play_games))

    def _phase(self, epoch: int, phase: str, steps: int | None, play: Callable[[int | None], None],
               interrupted: dict | None = None) -> dict | None:
        """Play a phase, or the rest of one an earlier run stopped in the middle of; its CSV row."""
        self.epoch, self.phase = epoch, phase
        self.statistics.start_phase(epoch, phase, steps)
        if interrupted is not None:
            self.statistics.resume_phase(interrupted["statistics"])
            steps -= interrupted["steps_done"]
            if interrupted.get("episode"):
                screens = interrupted["episode"]["screens"].numpy()
                if screens.shape != self.agent.state_buffer.screens.shape:
                    raise UsageError(f"the snapshot stopped in a game of {tuple(screens.shape)} screens; this run's "
                                     f"agent keeps {self.agent.state_buffer.screens.shape}")
                self.environment.restore_episode_state(interrupted["episode"]["environment"])
                self.agent.continue_episode(screens)
        play(steps)
        if self.agent.stop_requested:
            self.statistics.abandon_phase()
            return None
        return self.statistics.end_phase(
            exploration_rate=self.agent.last_exploration_rate,
            total_train_steps=self.agent.total_train_steps,
            replay_memory_count=self.memory.count if self.memory else 0,
            weight_updates=self.agent.weight_updates,
            meanq=self._meanq,
        )

    def _episode_in_progress(self) -> dict | None:
        """The game a phase stopped in, to go on with exactly on resuming (with the emulator's own state)."""
        environment = self.environment.episode_state()
        if environment is None:
            return None
        return {"environment": environment, "screens": torch.from_numpy(self.agent.state_buffer.screens.copy())}

    def _meanq(self) -> float:
        """The average max Q-value over distinct validation states, drawn once from replay memory."""
        if self.validation_states is None:
            valid = self.memory.valid_indices() if self.memory is not None else []
            if len(valid) == 0:
                return float("nan")
            indices = self.memory.rng.choice(valid, size=min(self.options.validation_size, len(valid)), replace=False)
            self.validation_states = self.memory.transitions(indices).prestates
        q_values = np.concatenate([self.network.predict(chunk) for chunk in np.array_split(
            self.validation_states, max(1, len(self.validation_states) // 256))])
        return float(q_values.max(axis=1).mean())

    def _save(self, epoch: int, interrupted: dict | None = None) -> None:
        """The replay memory as pending, then the snapshot, then the pending replay memory in place of the old:
        killed at any moment, the newest snapshot still finds its own replay memory."""
        path = snapshot_path(self.prefix, epoch)
        replay, pending = replay_paths(self.prefix)
        save_id = secrets.token_hex(8)
        try:
            if self.memory is not None and self.options.save_replay_memory:
                save_replay(pending, self.memory, save_id, epoch)
            self._save_snapshot(path, epoch, interrupted, save_id)
            if pending.exists():
                os.replace(pending, replay)
        except OSError as error:
            needed = (self.memory.nbytes if self.memory is not None and self.options.save_replay_memory else 0) / 1e9
            kept = f"; {self.last_snapshot} is intact: ./resume.sh {self.last_snapshot}" if self.last_snapshot else ""
            raise UsageError(f"could not save {path}: {error.strerror or error}; free space in {path.parent} "
                             f"(the replay memory takes about {needed:.2f} GB more while it is saved beside the "
                             f"old one, the snapshot some MB){kept}") from None
        finally:
            pending.unlink(missing_ok=True)
        self.last_snapshot = path
        where = (f" in the middle of epoch {epoch} {interrupted['phase']} ({interrupted['steps_done']} steps)"
                 if interrupted else "")
        saved_replay = f" and {replay} ({replay.stat().st_size / 1e9:.2f} GB)" if replay.exists() else ""
        log.info("saved %s%s%s", path, saved_replay, where)

    def _save_snapshot(self, path: Path, epoch: int, interrupted: dict | None, save_id: str) -> None:
        save_snapshot(path, {
            "game": self.environment.game,
            "actions": self.environment.action_names(),
            "options": {name: value for name, value in vars(self.options).items()
                        if name not in ("load_weights", "resume")},
            "epoch": epoch,
            "network": self.network.state_dict(),
            "counters": {
                "total_train_steps": self.agent.total_train_steps,
                "weight_updates": self.agent.weight_updates,
                "total_time": self.statistics.total_time,
            },
            "rng": {
                "agent": self.agent.rng.bit_generator.state,
                "memory": self.memory.rng.bit_generator.state,
                "torch": torch.get_rng_state(),
            },
            "validation_states": pack_screens(self.validation_states) if self.validation_states is not None else None,
            "save_id": save_id,
            "replay_saved": self.memory is not None and self.options.save_replay_memory,
            "interrupted": interrupted,
            "emulator": torch.frombuffer(bytearray(self.environment.emulator_state()), dtype=torch.uint8),
        })

    def interrupted_message(self) -> str:
        if self.phase == "play":
            return (f"stopped after {len(self.statistics.game_rewards)} of {self.options.play_games} games; "
                    "nothing was written")
        where = f"stopped during {'epoch ' + str(self.epoch) + ' ' if self.epoch else ''}{self.phase}"
        if self.saved_on_stop:
            return f"{where} and saved where it stopped; continue with ./resume.sh {self.last_snapshot}"
        if self.last_snapshot:
            return f"{where}; continue from the last snapshot with ./resume.sh {self.last_snapshot}"
        return f"{where}; no snapshot was saved yet"


def test_result_line(row: dict) -> str:
    if not row["nr_games"]:
        return f"tested {row['steps']} steps: no game finished (raise --test_steps)"
    return (f"tested {row['nr_games']} games: average {row['average_reward']:.2f}, "
            f"min {row['min_game_reward']:g}, max {row['max_game_reward']:g}")


if __name__ == "__main__":
    sys.exit(main())
