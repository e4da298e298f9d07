"""The README's picture of a sweep summary, drawn by the sweep's own summary code from the committed learning runs.

``PYTHONPATH=src .venv/bin/python benchmarks/sweep_summary_plot.py [OUT.png]`` (default
benchmarks/sweep_summary.png): each benchmarks/learning/<game>_<preset>/ whose evaluation is of the shipped agent,
agents/<game>.pkl, becomes one run, <game>_s1, of a sweep folder made for it, with its CSV and its evaluation;
the summary is written there, its summary.md printed and its summary.png copied to OUT.png.
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

from simple_dqn.sweeps.run import EVALUATION_FOLDER, plan_runs
from simple_dqn.sweeps.summary import write_summary

LEARNING = Path(__file__).resolve().parent / "learning"


def of_shipped_agent(folder: Path) -> bool:
    """Whether the run's evaluation is of the agent shipped for its game (other runs are kept to compare with)."""
    evaluation = folder / EVALUATION_FOLDER / "summary.json"
    if not evaluation.is_file():
        return False
    summary = json.loads(evaluation.read_text())
    return summary.get("snapshot") == f"agents/{summary.get('game')}.pkl"


def main(output: Path) -> None:
    runs = sorted(folder for folder in LEARNING.iterdir() if of_shipped_agent(folder))
    games = [folder.name.rsplit("_", 1)[0] for folder in runs]
    presets = {folder.name.rsplit("_", 1)[1] for folder in runs}
    if len(presets) != 1:
        sys.exit(f"error: the learning runs in {LEARNING} use several presets ({', '.join(sorted(presets))})")
    settings = {"games": games, "seeds": [1], "train_options": ["--preset", presets.pop()], "protocol": "nature",
                "evaluation_options": []}
    with tempfile.TemporaryDirectory() as sweep:
        for game, folder in zip(games, runs, strict=True):
            run = Path(sweep) / f"{game}_s1"
            shutil.copytree(folder / EVALUATION_FOLDER, run / EVALUATION_FOLDER)
            shutil.copy(folder / f"{game}.csv", run / f"{game}.csv")
        write_summary(Path(sweep), plan_runs(Path(sweep), settings))
        print((Path(sweep) / "summary.md").read_text())
        shutil.copy(Path(sweep) / "summary.png", output)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "sweep_summary.png")
