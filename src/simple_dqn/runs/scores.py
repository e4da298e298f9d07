"""Human-normalised scores: 100 * (agent - random) / (human - random), from published tables.

``atari_scores.csv``, beside this module, holds, per game (ale-py's names), the Nature paper's DQN
score and its human and random scores (49 games, Extended Data Table 2), and the
57-game human and random scores that later papers (Dueling, Rainbow, Ape-X) use.
"""

import csv
from pathlib import Path
from typing import NamedTuple

SCORES_FILE = Path(__file__).with_name("atari_scores.csv")
TABLES = {
    "nature": "Nature DQN (Mnih et al. 2015), Extended Data Table 2",
    "atari57": "Atari-57 (as Dueling, Rainbow and Ape-X use)",
}


class NormalisedScore(NamedTuple):
    percent: float
    table: str  # a key of TABLES
    human: float
    random: float
    paper_dqn: float | None  # the Nature paper's DQN score, where it has one


def human_normalised(game: str, score: float) -> NormalisedScore | None:
    """The score normalised with Nature's table, or the 57-game one for games Nature did not play; None if neither
    knows it."""
    with open(SCORES_FILE, newline="") as file:
        row = next((row for row in csv.DictReader(file) if row["game"] == game), None)
    if row is None:
        return None
    table = "nature" if row["nature_human"] else "atari57"
    human, random = float(row[f"{table}_human"]), float(row[f"{table}_random"])
    paper = float(row["nature_dqn"]) if row["nature_dqn"] else None
    return NormalisedScore(100 * (score - random) / (human - random), table, human, random, paper)
