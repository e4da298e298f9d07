"""A sweep's results as the paper reports them: per game, the mean and spread over seeds of the final
evaluation, its human-normalised score and the paper's beside it; the median over games; learning curves."""

import csv
import io
import json
import statistics
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from simple_dqn.files import write_atomically
from simple_dqn.runs.scores import human_normalised
from simple_dqn.sweeps.run import EVALUATION_FOLDER, RunSpec
from simple_dqn.sweeps.status import completed_rows
from simple_dqn.watch.plot import parsed_row, series

SUMMARY_COLUMNS = ("game", "runs", "seeds", "mean", "std", "human_normalised_percent", "paper_dqn",
                   "paper_human_normalised_percent")


def game_results(specs: list[RunSpec]) -> list[dict]:
    """One row per game, over the seeds whose evaluation is written; a game with none has ``runs`` 0."""
    rows = []
    for game in dict.fromkeys(spec.game for spec in specs):
        scores = {}
        for spec in specs:
            summary_file = Path(spec.folder) / EVALUATION_FOLDER / "summary.json"
            if spec.game == game and summary_file.exists():
                scores[spec.seed] = json.loads(summary_file.read_text())["mean"]
        row = {"game": game, "runs": len(scores), "seeds": " ".join(str(seed) for seed in scores),
               "mean": statistics.fmean(scores.values()) if scores else None,
               # the spread between seeds, a sample of the seeds one might have drawn
               "std": statistics.stdev(scores.values()) if len(scores) > 1 else None,
               "human_normalised_percent": None, "paper_dqn": None, "paper_human_normalised_percent": None}
        known = human_normalised(game, statistics.fmean(scores.values()) if scores else 0.0)
        if known is not None:
            if scores:
                row["human_normalised_percent"] = known.percent
            if known.paper_dqn is not None:
                row["paper_dqn"] = known.paper_dqn
                row["paper_human_normalised_percent"] = 100 * (known.paper_dqn - known.random) / (
                    known.human - known.random)
        rows.append(row)
    return rows


def median_normalised(rows: list[dict]) -> tuple[float | None, float | None, int]:
    """The median human-normalised score over the games that have one, the paper's median over those same
    games (where it played them all), and how many games count."""
    counted = [row for row in rows if row["human_normalised_percent"] is not None]
    if not counted:
        return None, None, 0
    ours = statistics.median(row["human_normalised_percent"] for row in counted)
    papers = [row["paper_human_normalised_percent"] for row in counted]
    return ours, statistics.median(papers) if None not in papers else None, len(counted)


def write_summary(folder: Path, specs: list[RunSpec]) -> None:
    """summary.md, summary.csv and summary.png in the sweep's folder, each written atomically."""
    rows = game_results(specs)
    median, paper_median, counted = median_normalised(rows)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: _number(value) for key, value in row.items()} for row in rows)
    writer.writerow({"game": "median", "runs": counted, "human_normalised_percent": _number(median),
                     "paper_human_normalised_percent": _number(paper_median)})
    write_atomically(folder / "summary.csv", lambda file: file.write(text.getvalue().encode()))
    markdown = _markdown(folder, specs, rows, median, paper_median, counted)
    write_atomically(folder / "summary.md", lambda file: file.write(markdown.encode()))
    figure = learning_curves(specs)
    write_atomically(folder / "summary.png", lambda file: figure.savefig(file, format="png"))


def _number(value: object) -> object:
    return "" if value is None else repr(round(value, 4)) if isinstance(value, float) else value


def _shown(value: float | None, digits: int = 1, suffix: str = "") -> str:
    return "–" if value is None else f"{value:,.{digits}f}{suffix}"


def _markdown(folder: Path, specs: list[RunSpec], rows: list[dict], median: float | None,
              paper_median: float | None, counted: int) -> str:
    seeds = sorted({spec.seed for spec in specs})
    lines = [f"# Sweep {folder.name}", "",
             f"{len(specs)} runs: {len(rows)} games x seeds {', '.join(map(str, seeds))}. Each run's final snapshot "
             f"is evaluated with `{' '.join(specs[0].evaluation_options)}`; the score is the mean over its games, "
             "and the table gives the mean and standard deviation of those scores over the seeds.", "",
             "Human-normalised: 100 x (score - random) / (human - random), with the Nature paper's human and "
             "random scores (the Atari-57 ones for games it did not play).", "",
             "| game | runs | mean | std over seeds | human-normalised | paper DQN | paper human-normalised |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['game']} | {row['runs']} | {_shown(row['mean'])} | {_shown(row['std'])} | "
                     f"{_shown(row['human_normalised_percent'], 0, '%')} | {_shown(row['paper_dqn'])} | "
                     f"{_shown(row['paper_human_normalised_percent'], 0, '%')} |")
    lines += ["", f"Median human-normalised score over {counted} games: {_shown(median, 0, '%')} "
                  f"(the paper, over the same games: {_shown(paper_median, 0, '%')}).", ""]
    missing = [Path(spec.folder).name for spec in specs
               if not (Path(spec.folder) / EVALUATION_FOLDER / "summary.json").exists()]
    if missing:
        lines += [f"Not evaluated (failed or unfinished): {', '.join(missing)}.", ""]
    return "\n".join(lines)


def learning_curves(specs: list[RunSpec]) -> Figure:
    """Per game, the test score of every epoch: the mean over seeds and a band from the lowest to the highest."""
    games = list(dict.fromkeys(spec.game for spec in specs))
    columns = min(len(games), 3)
    figure = Figure(figsize=(5 * columns, 3.6 * -(-len(games) // columns)), dpi=80, layout="constrained")
    for index, game in enumerate(games, 1):
        axes = figure.add_subplot(-(-len(games) // columns), columns, index)
        curves = []
        for spec in (spec for spec in specs if spec.game == game):
            rows = [parsed_row(row) for row in completed_rows(spec)]
            epochs, scores = series(rows, spec.final_phase, "average_reward")
            if epochs:
                curves.append(dict(zip(epochs, scores, strict=True)))
                axes.plot(epochs, scores, linewidth=0.6, alpha=0.5, color="tab:blue")
        epochs = sorted(set().union(*curves)) if curves else []
        if epochs:
            at_epoch = [[curve[epoch] for curve in curves if epoch in curve] for epoch in epochs]
            if len(curves) > 1:
                axes.fill_between(epochs, [min(values) for values in at_epoch], [max(values) for values in at_epoch],
                                  color="tab:blue", alpha=0.2, label="lowest to highest seed")
            axes.plot(epochs, [statistics.fmean(values) for values in at_epoch], color="tab:blue", marker=".",
                      label="mean of the seeds")
            axes.legend(loc="upper left", fontsize="small")
        else:
            axes.text(0.5, 0.5, "no epoch finished yet", ha="center", va="center", transform=axes.transAxes)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        axes.set_title(game)
        axes.set_xlabel("epoch")
        axes.set_ylabel(f"average reward per game ({specs[0].final_phase})")
        axes.grid(alpha=0.3)
    return figure
