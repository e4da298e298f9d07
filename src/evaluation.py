"""What an evaluation leaves behind: a row per game and a summary, as papers report them."""

import csv
import io
import json
import logging
import statistics
from importlib import metadata
from pathlib import Path

from files import write_atomically
from scores import TABLES, human_normalised

log = logging.getLogger(__name__)
EPISODE_COLUMNS = ("episode", "return", "frames")


def write_evaluation(folder: Path, rewards: list[float], frames: list[int], *, game: str, environment: str,
                     protocol: str | None, settings: dict, snapshot: str | None, seed: int) -> dict:
    """``episodes.csv`` and ``summary.json`` in ``folder``, each written atomically; the summary.

    ``std`` is the standard deviation of the games played (numpy's default, as papers report it).
    """
    summary = {
        "game": game,
        "environment": environment,
        "protocol": protocol or "none",
        "settings": settings,
        "snapshot": snapshot,
        "random_seed": seed,
        "episodes": len(rewards),
        "mean": statistics.fmean(rewards),
        "std": statistics.pstdev(rewards),
        "min": min(rewards),
        "max": max(rewards),
        "versions": {package: metadata.version(package) for package in ("ale-py", "gymnasium", "torch")},
    }
    normalised = human_normalised(game, summary["mean"])
    if normalised is not None:
        summary["human_normalised_percent"] = normalised.percent
        summary["normalised_with"] = {"table": TABLES[normalised.table], "human": normalised.human,
                                      "random": normalised.random}
        summary["paper_dqn"] = normalised.paper_dqn
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(EPISODE_COLUMNS)
    writer.writerows((episode, f"{reward:.12g}", frame) for episode, (reward, frame) in enumerate(zip(rewards, frames), 1))
    write_atomically(folder / "episodes.csv", lambda file: file.write(text.getvalue().encode()))
    write_atomically(folder / "summary.json", lambda file: file.write(json.dumps(summary, indent=2).encode() + b"\n"))
    return summary


def summary_line(summary: dict) -> str:
    line = (f"{summary['game']} ({summary['environment']}, protocol {summary['protocol']}): {summary['episodes']} "
            f"games, mean {summary['mean']:.1f} ± {summary['std']:.1f} (min {summary['min']:g}, max {summary['max']:g})")
    if "human_normalised_percent" in summary:
        line += (f", human-normalised {round(summary['human_normalised_percent']):d}% "
                 f"({summary['normalised_with']['table']})")
    else:
        line += " (no human score is known for this game)"
    if summary.get("paper_dqn") is not None:
        line += f"; the paper's DQN: {summary['paper_dqn']:g}"
    return line
