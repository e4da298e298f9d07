"""Train, test or play a Nature DQN on an Atari game: ``python -m simple_dqn --help``.

Reads the settings, builds the parts, prepares the run's files, and hands over to the phase runner (or to
play): nothing else happens here.
"""

import logging
import sys
from collections.abc import Sequence

from simple_dqn.command_line import read_settings
from simple_dqn.dqn.allocator import keep_freed_memory
from simple_dqn.errors import exit_code_of

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    return exit_code_of(lambda: run(argv), "stopped before the run began; nothing was changed")


def run(argv: Sequence[str] | None) -> int:
    keep_freed_memory()
    command = ["python", "-m", "simple_dqn", *(sys.argv[1:] if argv is None else argv)]

    # The settings, completed from the snapshot --load_weights names.
    settings, snapshot = read_settings(argv)
    # The parts, imported once the settings are good: a mistyped option is refused before PyTorch loads (1.3 s).
    from simple_dqn.dqn.environments import make_games
    from simple_dqn.play import play
    from simple_dqn.runs.checkpoint import check_compatible, check_room_for_saves
    from simple_dqn.runs.composition import Seeds, build_parts
    from simple_dqn.runs.live_curves import live_curves_of_run
    from simple_dqn.runs.outputs import plan_outputs, prepare_outputs
    from simple_dqn.runs.phases import PhaseRunner
    from simple_dqn.settings import file_options
    from simple_dqn.stopping import StopRequest
    from simple_dqn.watch.displays import choose_display

    options, loop, display, common = settings.values(), settings.loop, settings.display, settings.common
    logging.basicConfig(format="%(asctime)s %(message)s", level=common.log_level)
    display_kind = choose_display(display.display_screen) if display.display_screen != "false" else None
    assert common.random_seed is not None  # read_settings draws one when none is given
    seeds = Seeds.of(common.random_seed)

    # The parts: a window plays the game's sound, a video takes it when asked.
    games = make_games(settings.environment, settings.agent, settings.replay.history_length, seeds.emulator,
                       sound=display.sound or display_kind == "window")
    if snapshot is not None:
        check_compatible(snapshot, games.game, games.action_names(), options, loop.resume)
    outputs = plan_outputs(loop, settings.evaluation, settings.visualization.visualization_file, common, games.name,
                           snapshot)
    curves = live_curves_of_run(outputs.csv_path, loop, options, resumed=outputs.resume_point is not None) \
        if loop.trains else None
    parts = build_parts(games, settings.network, settings.agent, settings.replay, seeds, trains=loop.trains,
                        csv_path=outputs.csv_path, progress=common.progress and display_kind != "terminal",
                        curves=curves)  # no progress bar over a game drawn in the terminal
    stop = StopRequest()
    runner = PhaseRunner(parts, loop, settings.replay, options, outputs.run_files, stop)
    if snapshot is not None:
        runner.restore(snapshot, resume=loop.resume)
        log.info("loaded %s (epoch %d)%s", loop.load_weights, snapshot.epoch, ", resuming" if loop.resume else "")
    log.info("%s with %d actions (%s) on %s, random seed %d", games.name, games.num_actions(),
             ", ".join(games.action_names()), parts.network.device, common.random_seed)

    if loop.trains:
        check_room_for_saves(outputs.run_files, parts, loop.validation_size, settings.replay.save_replay_memory)

    # The run's files, now that every check has passed.
    prepare_outputs(outputs, loop, command, parts.network.device, options, file_options())

    # The phases.
    stop.on_signals(runner.stopped_at_once_message)
    epoch = snapshot.epoch if snapshot is not None else 0
    if loop.play_games:
        return play(settings, parts, runner, display_kind, epoch, outputs)
    if loop.trains:
        try:
            runner.train_and_test(outputs.resume_point, snapshot.stopped if snapshot is not None and loop.resume
                                  else None)
        finally:
            if curves is not None:
                curves.close()
    else:
        runner.test_only(epoch)
    if stop.requested:
        print(runner.interrupted_message(), file=sys.stderr)
        return 0 if loop.trains and runner.saved_on_stop else 130
    log.info("all done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
