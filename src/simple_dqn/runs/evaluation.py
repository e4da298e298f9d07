"""What an evaluation leaves behind: a row per game and a summary, as papers report them."""

import csv
import io
import json
import logging
import statistics
from importlib import metadata
from pathlib import Path

from simple_dqn.dqn.games import Games
from simple_dqn.dqn.settings import AgentSettings
from simple_dqn.files import write_atomically
from simple_dqn.runs.scores import TABLES, human_normalised
from simple_dqn.wording import counted, shown

log = logging.getLogger(__name__)
EPISODE_COLUMNS = ("episode", "return", "frames")
# The settings each evaluation protocol fixes (options given on the command line still win).
PROTOCOLS: dict[str, dict[str, object]] = {
    # Mnih et al. 2015: 30 games, 1 to 30 no-op frames at the start, epsilon 0.05, 5 minutes, no sticky actions.
    "nature": {"play_games": 30, "random_starts": 30, "noop_unit": "frames", "exploration_rate_test": 0.05,
               "max_test_frames": 18_000, "repeat_action_probability": 0.0},
    # Machado et al. 2018: sticky actions instead of no-ops, no life-loss terminals, games of up to 30 minutes.
    "machado": {"play_games": 30, "random_starts": 0, "max_test_frames": 108_000,
                "repeat_action_probability": 0.25, "terminal_on_life_loss": False},
    # The original's test_gym.py: 100 games as the Gymnasium id defines them (its own frame limit).
    "gym": {"play_games": 100, "max_test_frames": 0, "repeat_action_probability": None},
}


def protocol_overrides(protocol: str | None, options: dict) -> dict[str, object]:
    """The protocol's settings this evaluation played otherwise (given on the command line), with their values.

    Empty for a faithful run, so a table built from summaries can tell one from another.
    """
    return {name: options[name] for name, value in PROTOCOLS.get(protocol or "", {}).items() if options[name] != value}


def write_evaluation(folder: Path, rewards: list[float], frames: list[int], *, game: str, environment: str,
                     protocol: str | None, overrides: dict[str, object], settings: dict, snapshot: str | None,
                     seed: int | None, games_planned: int) -> dict:
    """``episodes.csv`` and ``summary.json`` in ``folder``, each written atomically; the summary.

    ``std`` is the standard deviation of the games played (numpy's default, as papers report it).  An evaluation
    stopped before its ``games_planned`` keeps the games it played, its summary marked ``"complete": false``:
    their figures are worth having, but not to be taken for the evaluation asked for.
    """
    summary = {
        "game": game,
        "environment": environment,
        "protocol": protocol or "none",
        "overrides": overrides,
        "settings": settings,
        "snapshot": snapshot,
        "random_seed": seed,
        "episodes": len(rewards),
        "episodes_planned": games_planned,
        "complete": len(rewards) >= games_planned,
        "mean": (mean := statistics.fmean(rewards)),
        "std": statistics.pstdev(rewards),
        "min": min(rewards),
        "max": max(rewards),
        "versions": {package: metadata.version(package) for package in ("ale-py", "gymnasium", "torch")},
    }
    normalised = human_normalised(game, mean)
    if normalised is not None:
        summary["human_normalised_percent"] = normalised.percent
        summary["normalised_with"] = {"table": TABLES[normalised.table], "human": normalised.human,
                                      "random": normalised.random}
        summary["paper_dqn"] = normalised.paper_dqn
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(EPISODE_COLUMNS)
    writer.writerows((episode, f"{reward:.12g}", frame)
                     for episode, (reward, frame) in enumerate(zip(rewards, frames, strict=True), 1))
    write_atomically(folder / "episodes.csv", lambda file: file.write(text.getvalue().encode()))
    write_atomically(folder / "summary.json", lambda file: file.write(json.dumps(summary, indent=2).encode() + b"\n"))
    return summary


def is_complete(summary: dict) -> bool:
    """Whether an evaluation's summary is of every game it planned; one written before summaries said so is, since
    a stopped evaluation then wrote nothing."""
    return summary.get("complete", True) is True


def complete_summary(folder: Path) -> dict | None:
    """The summary.json in ``folder`` of an evaluation that played every game it planned; None for none, or for
    one stopped early."""
    try:
        summary = json.loads((folder / "summary.json").read_bytes())
    except FileNotFoundError:
        return None
    return summary if is_complete(summary) else None


def played_with(agent: AgentSettings, max_test_frames: int, environment: Games) -> dict:
    """What the games were played with, as the emulator has it: a protocol's own values or what overrode them."""
    return {
        "no_op_starts_up_to": agent.random_starts,
        "no_op_unit": agent.noop_unit,
        "exploration_rate": agent.exploration_rate_test,
        "max_frames_per_game": max_test_frames or None,
        "sticky_actions": round(environment.sticky_action_probability(), 6),
        "frame_skip": environment.frame_skip,
        "life_loss_ends_episode": False,  # in evaluation, as in every test phase
    }


def summary_line(summary: dict) -> str:
    games = counted(summary["episodes"], "game") if is_complete(summary) else \
        f"{summary['episodes']} of {counted(summary['episodes_planned'], 'game')} (stopped early)"
    line = (f"{summary['game']} ({summary['environment']}, protocol {summary['protocol']}): "
            f"{games}, mean {summary['mean']:.1f} ± {summary['std']:.1f} "
            f"(min {summary['min']:g}, max {summary['max']:g})")
    if "human_normalised_percent" in summary:
        line += (f", human-normalised {round(summary['human_normalised_percent']):d}% "
                 f"({summary['normalised_with']['table']})")
    else:
        line += " (no human score is known for this game)"
    if summary.get("paper_dqn") is not None:
        line += f"; the paper's DQN: {summary['paper_dqn']:g}"
    if summary.get("overrides"):
        changed = ", ".join(f"--{name} {shown(value)}" for name, value in summary["overrides"].items())
        line += f"; not the protocol's own settings: {changed}"
    return line
