"""``./export.sh SNAPSHOT``: a trained agent as a folder in the layout of a Hugging Face model repository.

The folder holds ``model.safetensors`` and ``config.json`` (``runs/agent_folder.py``), the
evaluation's ``summary.json`` and ``episodes.csv`` (copied from a results folder, or played here
with ``--evaluate``), a short ``replay.mp4`` from the recorder and ``README.md``, the model card.
It is built beside its place and renamed into it, so an interrupted export leaves the earlier
folder whole; a folder that holds anything but an earlier export is never replaced.

``python -m simple_dqn.sharing.export SNAPSHOT [options] [--evaluate [test options]]`` is what the
script runs; ``--output`` may name ``{snapshot}``, the snapshot's file or folder name.
"""

import json
import logging
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from simple_dqn.errors import UsageError, exit_code_of
from simple_dqn.files import ensure_writable_folder, write_atomically
from simple_dqn.option import OptionParser, count
from simple_dqn.runs.agent_folder import CONFIG_FILE, MODEL_FILE, TrainedAgent, is_agent_folder, write_agent_folder
from simple_dqn.runs.checkpoint import agent_of, load_snapshot
from simple_dqn.runs.evaluation import is_complete
from simple_dqn.runs.hub_agents import check_repo_id
from simple_dqn.runs.run_files import fill
from simple_dqn.settings import file_options
from simple_dqn.sharing.model_card import EPISODES_FILE, SUMMARY_FILE, VIDEO_FILE, model_card

log = logging.getLogger(__name__)
CARD_FILE = "README.md"
EXPORT_FILES = (MODEL_FILE, CONFIG_FILE, CARD_FILE, SUMMARY_FILE, EPISODES_FILE, VIDEO_FILE)
VIDEO_FRAMES = 1_800  # 30 seconds of the console's 60 frames per second
USAGE = ("./export.sh SNAPSHOT [--output FOLDER] [--repo_id USER/NAME] [--video_frames N] "
         "[--evaluation RESULTS_FOLDER | --evaluate [test options]]")


class ToolkitRunFailed(Exception):
    """A run of the toolkit this export started stopped; it has said why."""

    def __init__(self, exit_code: int) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


def export(snapshot_path: str, output: Path, *, evaluation: Path | None = None,
           evaluate_options: list[str] | None = None, video_frames: int = VIDEO_FRAMES,
           repo_id: str | None = None) -> list[str]:
    """Write the export of ``snapshot_path`` to ``output``; the names of the files it holds.

    ``evaluation``: a results folder whose summary.json and episodes.csv to take; ``evaluate_options``: play an
    evaluation with these options instead (an empty list: the protocol's own settings); ``video_frames``: the most
    emulator frames of the replay, 0 for none.
    """
    if repo_id is not None:
        check_repo_id(repo_id)
    agent = agent_of(load_snapshot(snapshot_path), file_options())
    summary = read_summary(evaluation, agent.game, snapshot_path) if evaluation is not None else None
    check_output_folder(output)
    built = output.with_name(f".{output.name}.{secrets.token_hex(4)}.tmp")
    built.mkdir()
    try:
        write_agent_folder(built, agent)
        if evaluation is not None:
            for name in (SUMMARY_FILE, EPISODES_FILE):
                shutil.copyfile(evaluation / name, built / name)
        elif evaluate_options is not None:
            _play_evaluation(snapshot_path, agent, evaluate_options, built)
            summary = read_summary(built, agent.game, snapshot_path)
        if video_frames:
            seed = summary.get("random_seed") if summary else None
            _record_replay(snapshot_path, built / VIDEO_FILE, video_frames, seed if isinstance(seed, int) else 0)
        card = model_card(agent, summary, repo_id, video_frames or None)
        write_atomically(built / CARD_FILE, lambda file: file.write(card.encode()))
        files = sorted(path.name for path in built.iterdir())
        _put_in_place(built, output)
    except OSError as error:
        raise UsageError(f"could not write the export {output}: {error.strerror or error}") from None
    finally:
        shutil.rmtree(built, ignore_errors=True)
    return files


def read_summary(folder: Path, game: str, snapshot_path: str) -> dict[str, Any]:
    """An evaluation's summary.json, checked to be one of ``game`` with its episodes.csv beside it."""
    path = folder / SUMMARY_FILE
    if not folder.is_dir():
        raise UsageError(f"evaluation results {folder} do not exist: ./evaluate.sh or ./test_gym.sh writes them")
    try:
        summary = json.loads(path.read_bytes())
    except (OSError, ValueError):
        raise UsageError(f"{path} is not the summary of an evaluation (./evaluate.sh or ./test_gym.sh writes "
                         "one)") from None
    numbers = ("episodes", "mean", "std", "min", "max")
    if not isinstance(summary, dict) or not all(isinstance(summary.get(key), (int, float)) for key in numbers) \
            or not isinstance(summary.get("game"), str) or not isinstance(summary.get("environment"), str):
        raise UsageError(f"{path} is not the summary of an evaluation (./evaluate.sh or ./test_gym.sh writes one)")
    if not is_complete(summary):
        raise UsageError(f"the evaluation in {folder} was stopped after {summary['episodes']} of "
                         f"{summary.get('episodes_planned')} games: a card gives the figures of a whole one; play it "
                         "again whole, or export with --evaluate")
    if summary["game"] != game:
        raise UsageError(f"the evaluation in {folder} is of {summary['game']}, not of {game}, which the snapshot "
                         "plays")
    if not (folder / EPISODES_FILE).is_file():
        raise UsageError(f"{folder} has no {EPISODES_FILE} beside its {SUMMARY_FILE}")
    evaluated = summary.get("snapshot")
    if evaluated and Path(evaluated).resolve() != Path(snapshot_path).resolve():
        log.warning("the evaluation in %s played %s, not %s: its figures are put in the card as they are", folder,
                    evaluated, snapshot_path)
    return summary


def check_output_folder(output: Path) -> None:
    """An export may replace an earlier export, never a folder of anything else."""
    if output.exists() and not output.is_dir():
        raise UsageError(f"{output} is a file: name a folder for the export")
    if output.is_dir() and any(output.iterdir()) and not is_agent_folder(output):
        raise UsageError(f"{output} holds files that are not an export: name a new or empty folder")
    ensure_writable_folder(output.parent, "the export")


def _play_evaluation(snapshot_path: str, agent: TrainedAgent, options: list[str], folder: Path) -> None:
    """The toolkit's own evaluation, as evaluate.sh (or test_gym.sh, for an agent of a Gymnasium id) plays it."""
    given_protocol = any(option == "--protocol" or option.startswith("--protocol=") for option in options)
    protocol = [] if given_protocol else ["--protocol", "gym" if agent.options["environment"] == "gym" else "nature"]
    _run_toolkit(["--load_weights", snapshot_path, *protocol, *options, "--results_folder", str(folder)])


def _record_replay(snapshot_path: str, video: Path, frames: int, seed: int) -> None:
    """A game of at most ``frames`` emulator frames, as record.sh records it."""
    _run_toolkit(["--load_weights", snapshot_path, "--play_games", "1", "--environment", "ale",
                  "--max_test_frames", str(frames), "--video_file", str(video), "--random_seed", str(seed),
                  "--progress", "false", "--log_level", "WARNING"])


def _run_toolkit(arguments: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "simple_dqn", *arguments])
    if result.returncode != 0:
        raise ToolkitRunFailed(result.returncode)


def _put_in_place(built: Path, output: Path) -> None:
    """``built`` renamed to ``output``; an earlier export there is renamed aside first, then removed."""
    if not output.exists():
        os.replace(built, output)
        return
    earlier = output.with_name(f".{output.name}.{secrets.token_hex(4)}.old")
    os.replace(output, earlier)
    os.replace(built, output)
    shutil.rmtree(earlier)


def main(arguments: list[str]) -> int:
    def answer() -> int:
        evaluating = "--evaluate" in arguments
        own = arguments[:arguments.index("--evaluate")] if evaluating else arguments
        parser = OptionParser(prog="./export.sh", usage=USAGE,
                              description="Write a trained agent as a Hugging Face model repository's folder; "
                                          "the options after --evaluate go to its evaluation.")
        parser.add_argument("snapshot", metavar="SNAPSHOT",
                            help="A snapshot, a run's name, an exported folder or hf://USER/NAME.")
        parser.add_argument("--output", default="exports/{snapshot}", metavar="FOLDER",
                            help="Where the export goes; {snapshot} is the snapshot file's name.")
        parser.add_argument("--repo_id", metavar="USER/NAME",
                            help="The Hub repository the model card names (upload.sh fills it in otherwise).")
        parser.add_argument("--video_frames", type=count, default=VIDEO_FRAMES, metavar="N",
                            help="The most emulator frames of replay.mp4; 0 for none.")
        parser.add_argument("--evaluation", metavar="RESULTS_FOLDER",
                            help="An evaluation already played (evaluate.sh's or test_gym.sh's folder) for the card.")
        parser.add_argument("--evaluate", action="store_true",
                            help="Play the evaluation now: the nature protocol, or gym for a Gymnasium agent.")
        given = parser.parse_args(own)
        if evaluating and given.evaluation:
            raise UsageError("give --evaluation RESULTS_FOLDER or --evaluate, not both")
        logging.basicConfig(format="%(asctime)s %(message)s", level=logging.INFO)
        output = Path(fill(given.output, snapshot=Path(given.snapshot).stem))
        files = export(given.snapshot, output, evaluation=Path(given.evaluation) if given.evaluation else None,
                       evaluate_options=arguments[arguments.index("--evaluate") + 1:] if evaluating else None,
                       video_frames=given.video_frames, repo_id=given.repo_id)
        print(f"wrote {output}: {', '.join(files)}")
        print(f"share it: ./upload.sh {output} --repo_id {given.repo_id or 'USER/NAME'}")
        return 0
    try:
        return exit_code_of(answer, "stopped; nothing was written")
    except ToolkitRunFailed as failed:
        return failed.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
