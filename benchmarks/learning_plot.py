"""A learning curve: each test phase's average game score against wall-clock hours and against agent steps.

``python benchmarks/learning_plot.py RUN.csv OUT.png [--title TEXT]``; the machine named under the
plot is read from the run record beside the CSV (RUN.yaml), when there is one.
"""

import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)
import yaml  # noqa: E402

from simple_dqn.files import write_atomically  # noqa: E402
from simple_dqn.runs.results_csv import read_csv_rows  # noqa: E402


def machine_of(csv_path: Path) -> str:
    record_file = csv_path.with_suffix(".yaml")
    if not record_file.exists():
        return ""
    record = yaml.safe_load(record_file.read_text(encoding="utf-8")) or {}
    machine = record.get("machine") or {}
    return f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores" + \
        (f", {machine['gpu']}" if machine.get("gpu") else "")


def draw(csv_path: Path, output: Path, title: str) -> None:
    rows = [row for row in read_csv_rows(csv_path) if row["phase"] == "test"]
    hours = [float(row["total_time"]) / 3600 for row in rows]
    steps = [int(row["total_train_steps"]) for row in rows]
    scores = [float(row["average_reward"]) for row in rows]
    low = [float(row["min_game_reward"]) for row in rows]
    high = [float(row["max_game_reward"]) for row in rows]
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for axis, x, label in ((axes[0], hours, "wall-clock hours"), (axes[1], steps, "agent steps of training")):
        axis.fill_between(x, low, high, alpha=0.2, label="min to max game")
        axis.plot(x, scores, marker="o", markersize=3, label="average game score")
        axis.set_xlabel(label)
        axis.grid(alpha=0.3)
    axes[0].set_ylabel("test score")
    axes[1].ticklabel_format(axis="x", style="sci", scilimits=(3, 3))
    axes[0].legend(loc="lower right", fontsize=8)
    best = max((score for score in scores if not math.isnan(score)), default=float("nan"))
    machine = machine_of(csv_path)
    figure.suptitle(f"{title}: {steps[-1] if steps else 0:,} agent steps in {hours[-1] if hours else 0:.2f} h, "
                    f"best test average {best:.1f}" + (f"\n{machine}" if machine else ""), fontsize=10)
    figure.tight_layout()
    write_atomically(output, lambda file: figure.savefig(file, format="png", dpi=100))
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--title", default="")
    arguments = parser.parse_args()
    draw(arguments.csv, arguments.output, arguments.title or arguments.csv.stem)


if __name__ == "__main__":
    main()
