"""Train, test or play a Nature DQN on an Atari game: ``python -m simple_dqn --help``.

Reads the options, builds the parts, and hands them to the phase runner: nothing else happens here.
"""

import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from simple_dqn.command_line import Settings, file_options, read_settings
from simple_dqn.dqn.agent import Agent, Learner
from simple_dqn.dqn.allocator import keep_freed_memory
from simple_dqn.dqn.deepqnetwork import DeepQNetwork, resolve_device
from simple_dqn.dqn.environment import Environment
from simple_dqn.dqn.environments import make_environment, make_vector_environment
from simple_dqn.dqn.replay_memory import make_replay_memory
from simple_dqn.dqn.vector_agent import VectorAgent
from simple_dqn.dqn.vector_environment import VectorEnvironment
from simple_dqn.errors import UsageError, exit_code_of
from simple_dqn.runs.checkpoint import Parts, Snapshot, check_compatible
from simple_dqn.runs.evaluation import played_with, protocol_overrides, summary_line, write_evaluation
from simple_dqn.runs.live_curves import live_curves_of_run
from simple_dqn.runs.phases import PhaseRunner
from simple_dqn.runs.run_files import (
    check_results_file,
    output_file,
    output_folder,
    output_paths,
    refuse_to_overwrite,
    refuse_to_overwrite_later_snapshots,
    remove_unfinished_writes_of_run,
    trim_results,
)
from simple_dqn.runs.run_record import add_resume, check_record_path, record_path, write_run_record
from simple_dqn.runs.statistics import Statistics
from simple_dqn.stopping import StopRequest
from simple_dqn.watch.displays import choose_display
from simple_dqn.watch.playing import open_recorder, open_watcher, write_visualization
from simple_dqn.watch.visualization import StateRecorder
from simple_dqn.wording import counted

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    return exit_code_of(lambda: run(argv), "stopped before the run began; nothing was changed")


def run(argv: Sequence[str] | None) -> int:
    keep_freed_memory()
    command = ["python", "-m", "simple_dqn", *(sys.argv[1:] if argv is None else argv)]
    settings, snapshot = read_settings(argv)
    options = settings.values()  # every option by name, as snapshots keep them
    loop, display = settings.loop, settings.display
    display_kind = choose_display(display.display_screen) if display.display_screen != "false" else None
    logging.basicConfig(format="%(asctime)s %(message)s", level=settings.common.log_level)
    seed = settings.common.random_seed
    assert seed is not None  # read_settings draws one when none is given
    agent_seed, memory_seed, torch_seed, emulator_seed = np.random.SeedSequence(seed).spawn(4)
    torch.manual_seed(int(torch_seed.generate_state(1)[0]))

    games = settings.environment.num_envs
    if games > 1 and loop.play_games:
        raise UsageError("--num_envs above 1 trains and tests: play, record and evaluate play one game at a time")
    emulator_seed_value = int(emulator_seed.generate_state(1)[0] >> 1)
    environment: Environment | VectorEnvironment
    if games == 1:  # a window plays the game's sound; a video takes it when asked
        environment = make_environment(settings.environment, emulator_seed_value,
                                       display.sound or display_kind == "window")
    else:
        environment = make_vector_environment(settings.environment, settings.agent, emulator_seed_value)
    if snapshot is not None:
        check_compatible(snapshot, environment.game, environment.action_names(), options, loop.resume)
    csv_path, run_files = output_paths(loop.csv_file, loop.save_weights_prefix, environment.name)
    protocol = settings.evaluation.protocol
    results_folder = output_folder(settings.evaluation.results_folder, "evaluation results", game=environment.name,
                                   protocol=protocol or "custom")
    visualization_path = output_file(settings.visualization.visualization_file, environment.name, "visualization")
    if protocol in ("nature", "machado") and environment.skips_frames_itself:
        log.warning("%s skips frames itself without max-pooling, which the %s protocol does not: evaluate on "
                    "its NoFrameskip id for the paper's preprocessing", settings.environment.game, protocol)
    training = not loop.play_games and (loop.random_steps > 0 or loop.train_steps > 0)
    resume_point = snapshot.resume_point() if snapshot is not None and loop.resume else None
    if snapshot is not None and loop.resume:
        refuse_to_overwrite_later_snapshots(run_files, snapshot.epoch, str(loop.load_weights))
    elif training:
        refuse_to_overwrite(run_files, csv_path)
    if training:
        check_results_file(csv_path)
    if training and csv_path:
        check_record_path(record_path(csv_path), settings.common.config)
    curves = live_curves_of_run(csv_path, loop, options, resumed=resume_point is not None) if training else None

    device = resolve_device(settings.network.backend, settings.network.device)
    state_shape = (settings.replay.history_length, *settings.environment.screen_shape)
    network = DeepQNetwork(environment.num_actions(), settings.network, state_shape,
                           use_target_network=settings.agent.target_steps > 0, device=device)
    memory = make_replay_memory(settings.replay, settings.environment.screen_shape, settings.network.batch_size,
                                memory_seed, streams=games) if training else None
    statistics = Statistics(csv_path, settings.common.progress and display_kind != "terminal",  # not over the game
                            curves, games)
    stop = StopRequest()
    agent: Learner
    if isinstance(environment, VectorEnvironment):
        agent = VectorAgent(environment, network, memory, statistics, settings.agent, state_shape, agent_seed, stop)
    else:
        agent = Agent(environment, network, memory, statistics, settings.agent, state_shape, agent_seed, stop)
    parts = Parts(environment, network, agent, memory, statistics)
    runner = PhaseRunner(parts, loop, settings.replay, options, run_files, stop)
    if snapshot is not None:
        runner.restore(snapshot, resume=loop.resume)
        log.info("loaded %s (epoch %d)%s", loop.load_weights, snapshot.epoch, ", resuming" if loop.resume else "")
    log.info("%s with %d actions (%s) on %s, random seed %d", environment.name, environment.num_actions(),
             ", ".join(environment.action_names()), device, seed)

    # Every check has passed: only now change files an earlier run left.
    if training:
        remove_unfinished_writes_of_run(csv_path, run_files)
    if resume_point is not None:
        trim_results(csv_path, *resume_point)
    elif training and csv_path and csv_path.exists():
        log.warning("replacing %s: no snapshot of its run exists to continue it", csv_path)
        csv_path.unlink()
    if training and csv_path:
        if resume_point is not None:
            add_resume(record_path(csv_path), command, device, *resume_point, options)
        else:
            write_run_record(record_path(csv_path), command, options, file_options(), device)

    stop.on_signals()
    if loop.play_games:
        return play(settings, parts, runner, stop, display_kind, snapshot, results_folder, visualization_path, seed)
    if training:
        try:
            runner.train_and_test(resume_point, snapshot.stopped if snapshot is not None and loop.resume else None)
        finally:
            if curves is not None:
                curves.close()
    else:
        runner.test_only(snapshot.epoch if snapshot else 0)
    if stop.requested:
        print(runner.interrupted_message(), file=sys.stderr)
        return 0 if training and runner.saved_on_stop else 130
    log.info("all done")
    return 0


def play(settings: Settings, parts: Parts, runner: PhaseRunner, stop: StopRequest, display_kind: str | None,
         snapshot: Snapshot | None, results_folder: Path | None, visualization_path: Path | None, seed: int) -> int:
    """Play the games asked for, watched as asked; then the page of what the network saw and the evaluation."""
    environment, agent, statistics, games = parts.environment, parts.agent, parts.statistics, settings.loop.play_games
    assert isinstance(environment, Environment) and isinstance(agent, Agent)  # one game at a time (run refuses more)
    snapshot_file = settings.loop.load_weights
    watcher = open_watcher(display_kind, environment, agent, statistics, stop, games, snapshot_file)
    state_recorder = StateRecorder(agent) if visualization_path else None
    recorder = None
    try:
        recorder = open_recorder(settings.display, environment, snapshot_file, snapshot.epoch if snapshot else 0)
        runner.play()
    finally:
        if watcher is not None:
            watcher.display.close()
        if recorder is not None:
            recorder.close()
    recorded = f"; the recording holds what was played: {recorder.video_file or recorder.folder}" if recorder else ""
    if watcher is not None and watcher.quit:
        manual = f", {watcher.manual_steps} steps under manual control" if watcher.manual_steps else ""
        cut_short = visualization_path or results_folder
        unwritten = "; no page or results are written for games cut short" if cut_short else ""
        print(f"quit after {len(statistics.game_rewards)} of {counted(games, 'game')}{manual}{recorded}{unwritten}")
        return 0
    if stop.requested:
        if recorder is not None:
            print(f"stopped after {len(statistics.game_rewards)} of {counted(games, 'game')}{recorded}",
                  file=sys.stderr)
            return 130
        print(runner.interrupted_message(), file=sys.stderr)
        return 130
    # Ctrl-C from here on, while the page or the results are written, changes nothing.
    if visualization_path and state_recorder is not None:
        write_visualization(settings.visualization, visualization_path, environment, parts.network, state_recorder,
                            snapshot_file, games)
    if results_folder:
        evaluation = settings.evaluation
        summary = write_evaluation(results_folder, statistics.game_rewards, statistics.game_frames,
                                   game=environment.game,
                                   environment=f"{settings.environment.environment} {settings.environment.game}",
                                   protocol=evaluation.protocol,
                                   overrides=protocol_overrides(evaluation.protocol, settings.values()),
                                   settings=played_with(settings.agent, settings.environment.max_test_frames,
                                                        environment),
                                   snapshot=snapshot_file, seed=seed)
        print(summary_line(summary))
        log.info("wrote %s and %s", results_folder / "episodes.csv", results_folder / "summary.json")
    log.info("all done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
