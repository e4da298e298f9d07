"""``./upload_gym.sh RESULTS_FOLDER --repo_id USER/NAME``: a test_gym.sh evaluation and its snapshot, on the Hub.

The original's upload_gym.sh sent test_gym.py's results to OpenAI Gym's scoreboard, closed since
2017; this one exports the snapshot the results folder's summary.json names, with those results,
and uploads the export to a Hugging Face model repository.  Any evaluation's results folder
(evaluate.sh's too) will do.
"""

import json
import logging
import sys
from pathlib import Path

from simple_dqn.errors import UsageError, exit_code_of
from simple_dqn.option import OptionParser, count
from simple_dqn.runs.hub_agents import check_repo_id
from simple_dqn.runs.run_files import fill
from simple_dqn.sharing.export import VIDEO_FRAMES, ToolkitRunFailed, export
from simple_dqn.sharing.hub import upload
from simple_dqn.sharing.model_card import SUMMARY_FILE

USAGE = ("./upload_gym.sh RESULTS_FOLDER --repo_id USER/NAME [--snapshot SNAPSHOT] [--output FOLDER] "
         "[--video_frames N] [--dry_run] [--private]")


def main(arguments: list[str]) -> int:
    def answer() -> int:
        parser = OptionParser(prog="./upload_gym.sh", usage=USAGE,
                              description="Export a test_gym.sh evaluation with its snapshot and send it to the "
                                          "Hugging Face Hub.")
        parser.add_argument("results", metavar="RESULTS_FOLDER", help="A results folder of test_gym.sh or evaluate.sh.")
        parser.add_argument("--repo_id", required=True, metavar="USER/NAME", help="The model repository, made if new.")
        parser.add_argument("--snapshot", metavar="SNAPSHOT",
                            help="The snapshot evaluated, when not the one summary.json names.")
        parser.add_argument("--output", default="exports/{snapshot}", metavar="FOLDER", help="The export's folder.")
        parser.add_argument("--video_frames", type=count, default=VIDEO_FRAMES, metavar="N",
                            help="The most emulator frames of replay.mp4; 0 for none.")
        parser.add_argument("--dry_run", action="store_true",
                            help="Export, list the files it would send, and send nothing.")
        parser.add_argument("--private", action="store_true", help="Make the repository private if it is new.")
        given = parser.parse_args(arguments)
        check_repo_id(given.repo_id)
        logging.basicConfig(format="%(asctime)s %(message)s", level=logging.INFO)
        results = Path(given.results)
        snapshot = given.snapshot or named_snapshot(results)
        output = Path(fill(given.output, snapshot=Path(snapshot).stem))
        files = export(snapshot, output, evaluation=results, video_frames=given.video_frames, repo_id=given.repo_id)
        print(f"wrote {output}: {', '.join(files)}")
        print("\n".join(upload(output, given.repo_id, dry_run=given.dry_run, private=given.private)))
        return 0
    try:
        return exit_code_of(answer, "stopped")
    except ToolkitRunFailed as failed:
        return failed.exit_code


def named_snapshot(results: Path) -> str:
    """The snapshot summary.json says the evaluation in ``results`` played; it must still be there."""
    try:
        named = json.loads((results / SUMMARY_FILE).read_bytes()).get("snapshot")
    except (OSError, ValueError, AttributeError):
        raise UsageError(f"{results / SUMMARY_FILE} is not the summary of an evaluation (./test_gym.sh writes "
                         "one)") from None
    if not isinstance(named, str) or not Path(named).exists():
        raise UsageError(f"{results / SUMMARY_FILE} names the snapshot {named}, which is not here: give "
                         "--snapshot SNAPSHOT")
    return named


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
