"""Play a snapshot's games, watched as asked: on a display, into a recording, onto a page of what the network saw,
and into an evaluation's results."""

import logging
import sys

from simple_dqn.runs.composition import Parts, on_screen
from simple_dqn.runs.evaluation import played_with, protocol_overrides, summary_line, write_evaluation
from simple_dqn.runs.outputs import RunOutputs
from simple_dqn.runs.phases import PhaseRunner
from simple_dqn.settings import Settings
from simple_dqn.watch.playing import open_recorder, open_watcher, write_visualization
from simple_dqn.watch.visualization import StateRecorder
from simple_dqn.wording import counted

log = logging.getLogger(__name__)


def play(settings: Settings, parts: Parts, runner: PhaseRunner, display_kind: str | None, epoch: int,
         outputs: RunOutputs) -> int:
    """Play the games asked for, watched as asked; then the page of what the network saw and the evaluation."""
    environment, statistics, games = parts.games, parts.statistics, settings.loop.play_games
    snapshot_file, protocol = settings.loop.load_weights, settings.evaluation.protocol
    if protocol in ("nature", "machado") and environment.skips_frames_itself:
        log.warning("%s skips frames itself without max-pooling, which the %s protocol does not: evaluate on "
                    "its NoFrameskip id for the paper's preprocessing", settings.environment.game, protocol)
    watcher = None if display_kind is None else open_watcher(
        display_kind, on_screen(environment), parts.agent, statistics, runner.stop, games, snapshot_file)
    state_recorder = StateRecorder(parts.agent) if outputs.visualization_path else None
    recorder = None
    try:
        if settings.display.record_screen_path or settings.display.video_file:
            recorder = open_recorder(settings.display, on_screen(environment), snapshot_file, epoch)
        runner.play()
    finally:
        if watcher is not None:
            watcher.display.close()
        if recorder is not None:
            recorder.close()
    recorded = f"; the recording holds what was played: {recorder.video_file or recorder.folder}" if recorder else ""
    if watcher is not None and watcher.quit:
        manual = f", {watcher.manual_steps} steps under manual control" if watcher.manual_steps else ""
        cut_short = outputs.visualization_path or outputs.results_folder
        unwritten = "; no page or results are written for games cut short" if cut_short else ""
        print(f"quit after {len(statistics.game_rewards)} of {counted(games, 'game')}{manual}{recorded}{unwritten}")
        return 0
    if runner.stop.requested:
        if recorder is not None:
            print(f"stopped after {len(statistics.game_rewards)} of {counted(games, 'game')}{recorded}",
                  file=sys.stderr)
            return 130
        print(runner.interrupted_message(), file=sys.stderr)
        return 130
    # Ctrl-C from here on, while the page or the results are written, changes nothing.
    if outputs.visualization_path and state_recorder is not None:
        write_visualization(settings.visualization, outputs.visualization_path, environment, parts.network,
                            state_recorder, snapshot_file, games)
    if outputs.results_folder:
        summary = write_evaluation(outputs.results_folder, statistics.game_rewards, statistics.game_frames,
                                   game=environment.game,
                                   environment=f"{settings.environment.environment} {settings.environment.game}",
                                   protocol=protocol, overrides=protocol_overrides(protocol, settings.values()),
                                   settings=played_with(settings.agent, settings.environment.max_test_frames,
                                                        environment),
                                   snapshot=snapshot_file, seed=settings.common.random_seed)
        print(summary_line(summary))
        log.info("wrote %s and %s", outputs.results_folder / "episodes.csv", outputs.results_folder / "summary.json")
    log.info("all done")
    return 0
