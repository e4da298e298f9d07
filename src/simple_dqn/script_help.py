"""``--help`` of a script that plays or continues a snapshot: its own usage, then the options that matter to it.

All the other options apply too (train.sh's --help lists them), but a snapshot supplies the game and the options it
was trained with, so a test, a game watched or an evaluation seldom needs them: 230 lines would bury the few it does.
"""

import sys

from simple_dqn.command_line import build_parser

EVALUATION = ("protocol", "play_games", "results_folder", "max_test_frames", "exploration_rate_test",
              "repeat_action_probability", "random_seed", "backend", "device", "progress")
SCRIPT_OPTIONS = {
    "test.sh": ("test_steps", "max_test_frames", "exploration_rate_test", "random_seed", "backend", "device",
                "progress"),
    "play.sh": ("play_games", "display_screen", "max_test_frames", "exploration_rate_test", "random_seed",
                "backend", "device"),
    "record.sh": ("play_games", "video_file", "record_screen_path", "sound", "max_test_frames",
                  "exploration_rate_test", "random_seed"),
    "nvis.sh": ("play_games", "visualization_file", "visualization", "visualization_filters", "visualization_states",
                "random_seed", "backend", "device"),
    "evaluate.sh": EVALUATION,
    "test_gym.sh": EVALUATION,
    "resume.sh": ("epochs", "allow_empty_replay", "save_weights_prefix", "csv_file", "tensorboard", "backend",
                  "device", "progress"),
}


def script_help(script: str, usage: str) -> str:
    """``script``'s help: ``usage`` (its first line, as the script states it), its options, where the rest are."""
    parser = build_parser(only=SCRIPT_OPTIONS[script])
    parser.usage, parser.description = usage.removeprefix("usage: "), None
    parser.prog = f"./{script}"
    return (f"{parser.format_help().rstrip()}\n\nEvery option of ./train.sh --help applies too; the snapshot "
            "supplies the game and the options it was trained with, unless given here.")


if __name__ == "__main__":
    print(script_help(*sys.argv[1:3]))
