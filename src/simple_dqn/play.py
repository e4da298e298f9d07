"""Play a snapshot's games, watched as asked: on a display, into a recording, onto a page of what the network saw,
and into an evaluation's results."""

import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from simple_dqn.dqn.games import Games
from simple_dqn.runs.composition import Parts, on_screen
from simple_dqn.runs.evaluation import played_with, protocol_overrides, summary_line, write_evaluation
from simple_dqn.runs.outputs import RunOutputs
from simple_dqn.runs.phases import PhaseRunner
from simple_dqn.runs.statistics import Statistics
from simple_dqn.settings import Settings, declarations, flags
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
    played = len(statistics.game_rewards)
    if watcher is not None and watcher.quit:
        manual = f", {watcher.manual_steps} steps under manual control" if watcher.manual_steps else ""
        cut_short = outputs.visualization_path or outputs.results_folder
        unwritten = "; no page or results are written for games cut short" if cut_short else ""
        print(f"quit after {played} of {counted(games, 'game')}{manual}{recorded}{unwritten}")
        return 0
    if runner.stop.requested and played < games:
        kept = recorded or "; nothing was written"
        if outputs.results_folder and played:
            print(summary_line(write_results(settings, environment, statistics, outputs.results_folder)))
            kept = (f"{recorded}; {outputs.results_folder / 'episodes.csv'} and summary.json hold them, marked "
                    f"incomplete; play the other {games - played} with a seed and a folder of their own: "
                    f"{rest_command(settings, outputs.results_folder, games - played, sys.argv[1:])}")
        print(f"stopped after {played} of {counted(games, 'game')}{kept}", file=sys.stderr)
        return 130
    # Ctrl-C from here on, while the page or the results are written, changes nothing.
    if outputs.visualization_path and state_recorder is not None:
        write_visualization(settings.visualization, outputs.visualization_path, environment, parts.network,
                            state_recorder, snapshot_file, games)
    if outputs.results_folder:
        print(summary_line(write_results(settings, environment, statistics, outputs.results_folder)))
        log.info("wrote %s and %s", outputs.results_folder / "episodes.csv", outputs.results_folder / "summary.json")
    log.info("all done")
    return 0


def write_results(settings: Settings, environment: Games, statistics: Statistics, folder: Path) -> dict:
    """The evaluation of the games played, complete or not, in ``folder``; its summary."""
    protocol = settings.evaluation.protocol
    return write_evaluation(folder, statistics.game_rewards, statistics.game_frames, game=environment.game,
                            environment=f"{settings.environment.environment} {settings.environment.game}",
                            protocol=protocol, overrides=protocol_overrides(protocol, settings.values()),
                            settings=played_with(settings.agent, settings.environment.max_test_frames, environment),
                            snapshot=settings.loop.load_weights, seed=settings.common.random_seed,
                            games_planned=settings.loop.play_games)


# What the command of the rest of an evaluation says anew; it keeps every other option given.
RESTATED = ("load_weights", "protocol", "play_games", "random_seed", "results_folder")


def rest_command(settings: Settings, folder: Path, games_left: int, arguments: Sequence[str]) -> str:
    """The command that plays the ``games_left`` games a stopped evaluation did not, with the same settings.

    ``arguments`` are this process's, as the script that started it passed them on: those ``RESTATED`` are said
    anew, the others kept. The rest has a seed of its own, since the same seed would play the first games again,
    each counted twice; and a results folder of its own, so the games already played are kept rather than replaced.
    """
    protocol = settings.evaluation.protocol
    script = {"gym": "./test_gym.sh", None: "./test.sh"}.get(protocol, "./evaluate.sh")
    restated = {flag for _, field, declaration in declarations() if field.name in RESTATED
                for flag in flags(declaration, field.name)}
    kept: list[str] = []
    value_follows = False
    for argument in arguments:
        if not value_follows and argument.partition("=")[0] not in restated:
            kept.append(argument)
        value_follows = not value_follows and argument in restated
    assert settings.common.random_seed is not None  # read_settings draws one when none is given
    return shlex.join([script, str(settings.loop.load_weights),
                       *(["--protocol", protocol] if script == "./evaluate.sh" and protocol else []), *kept,
                       "--episodes", str(games_left), "--random_seed", str(settings.common.random_seed + 1),
                       "--results_folder", str(folder / "rest")])
