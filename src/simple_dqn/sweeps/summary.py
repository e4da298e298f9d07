"""A sweep's results as the paper reports them: per game, the mean and spread over seeds of the final
evaluation, its human-normalised score and the paper's beside it; the median over games; learning curves. Then as
papers report them since Agarwal et al. (2021): the interquartile mean over every run with its bootstrap interval,
and the performance profile (``aggregates``)."""

import csv
import io
import statistics
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from simple_dqn.files import write_atomically
from simple_dqn.runs.evaluation import complete_summary
from simple_dqn.runs.scores import human_normalised
from simple_dqn.sweeps.aggregates import (
    BOOTSTRAP_SEED,
    CONFIDENCE,
    LANDMARKS,
    RESAMPLES,
    Aggregates,
    aggregate,
    interquartile_mean,
)
from simple_dqn.sweeps.run import EVALUATION_FOLDER, RunSpec
from simple_dqn.sweeps.status import completed_rows
from simple_dqn.watch.plot import parsed_row, series
from simple_dqn.wording import counted

SUMMARY_COLUMNS = ("game", "runs", "seeds", "mean", "std", "human_normalised_percent", "paper_dqn",
                   "paper_human_normalised_percent")


def run_scores(specs: list[RunSpec]) -> dict[str, dict[int, float]]:
    """Per game, in the sweep's order, each seed's final evaluation score, for the runs whose evaluation is
    complete: one stopped early scores the games it played, not the evaluation asked for."""
    scores: dict[str, dict[int, float]] = {spec.game: {} for spec in specs}
    for spec in specs:
        summary = complete_summary(Path(spec.folder) / EVALUATION_FOLDER)
        if summary is not None:
            scores[spec.game][spec.seed] = summary["mean"]
    return scores


def game_results(specs: list[RunSpec]) -> list[dict]:
    """One row per game, over the seeds whose evaluation is written; a game with none has ``runs`` 0."""
    rows = []
    for game, scores in run_scores(specs).items():
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
    scored = [row for row in rows if row["human_normalised_percent"] is not None]
    if not scored:
        return None, None, 0
    ours = statistics.median(row["human_normalised_percent"] for row in scored)
    papers = [row["paper_human_normalised_percent"] for row in scored]
    return ours, statistics.median(papers) if None not in papers else None, len(scored)


def normalised_runs(specs: list[RunSpec]) -> tuple[dict[str, list[float]], list[str]]:
    """Every evaluated run's human-normalised score, per game; and the evaluated games left out, which neither
    score table knows."""
    table, left_out = {}, []
    for game, scores in run_scores(specs).items():
        known = [human_normalised(game, score) for score in scores.values()]
        if known and None not in known:
            table[game] = [score.percent for score in known if score is not None]
        elif known:
            left_out.append(game)
    return table, left_out


def paper_aggregates(rows: list[dict], games: list[str]) -> tuple[float | None, float | None]:
    """The paper's IQM and mean over ``games``, one score per game as it reports them, where it played them all."""
    papers = [row["paper_human_normalised_percent"] for row in rows if row["game"] in games]
    if not papers or None in papers:
        return None, None
    return float(interquartile_mean(np.array(papers))), statistics.fmean(papers)


def write_summary(folder: Path, specs: list[RunSpec]) -> None:
    """summary.md, summary.csv and summary.png in the sweep's folder, each written atomically."""
    rows = game_results(specs)
    median, paper_median, games_scored = median_normalised(rows)
    table, left_out = normalised_runs(specs)
    aggregates = aggregate(list(table.values())) if table else None
    paper_iqm, paper_mean = paper_aggregates(rows, list(table))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: _number(value) for key, value in row.items()} for row in rows)
    writer.writerow({"game": "median", "runs": games_scored, "human_normalised_percent": _number(median),
                     "paper_human_normalised_percent": _number(paper_median)})
    writer.writerows(aggregate_rows(aggregates, paper_iqm, paper_mean))
    write_atomically(folder / "summary.csv", lambda file: file.write(text.getvalue().encode()))
    markdown = _markdown(folder, specs, rows, median, paper_median, games_scored)
    markdown += _aggregates_markdown(aggregates, left_out, paper_iqm, paper_mean)
    write_atomically(folder / "summary.md", lambda file: file.write(markdown.encode()))
    figure = summary_figure(specs, aggregates)
    write_atomically(folder / "summary.png", lambda file: figure.savefig(file, format="png"))


def aggregate_rows(aggregates: Aggregates | None, paper_iqm: float | None, paper_mean: float | None) -> list[dict]:
    """The CSV's rows after ``median``: IQM and mean over every run, each followed by its interval's ends, in the
    ``human_normalised_percent`` column; ``runs`` counts the runs. Empty values where there are none."""
    rows = []
    percent = round(100 * CONFIDENCE)
    for name, paper in (("iqm", paper_iqm), ("mean", paper_mean)):
        estimate = getattr(aggregates, name) if aggregates else None
        rows += [{"game": name, "runs": aggregates.runs if aggregates else 0,
                  "human_normalised_percent": _number(estimate.value if estimate else None),
                  "paper_human_normalised_percent": _number(paper)},
                 {"game": f"{name}_{percent}_low", "human_normalised_percent": _number(estimate and estimate.lower)},
                 {"game": f"{name}_{percent}_high", "human_normalised_percent": _number(estimate and estimate.upper)}]
    return rows


def _aggregates_markdown(aggregates: Aggregates | None, left_out: list[str], paper_iqm: float | None,
                         paper_mean: float | None) -> str:
    lines = ["", "## Over every run", ""]
    if aggregates is None:
        lines += ["No interquartile mean or performance profile: no run of a game with human and random scores "
                  "is evaluated.", ""]
    else:
        iqm, mean = aggregates.iqm, aggregates.mean
        lines += [f"As Agarwal et al. (2021) recommend (\"Deep Reinforcement Learning at the Edge of the Statistical "
                  f"Precipice\"): the human-normalised scores of {counted(aggregates.runs, 'run')} of "
                  f"{counted(aggregates.games, 'game')}, each run counted once. The interquartile mean (IQM) is the "
                  "mean of the middle half of them: unlike the median it uses half of the runs, and unlike the mean "
                  "one outlying game cannot carry it.", "",
                  f"| over every run | human-normalised | {CONFIDENCE:.0%} interval | paper DQN, same games |",
                  "|---|---:|---:|---:|",
                  f"| interquartile mean (IQM) | {_shown(iqm.value, 0, '%')} | {_range(iqm.lower, iqm.upper)} | "
                  f"{_shown(paper_iqm, 0, '%')} |",
                  f"| mean | {_shown(mean.value, 0, '%')} | {_range(mean.lower, mean.upper)} | "
                  f"{_shown(paper_mean, 0, '%')} |", ""]
        if iqm.lower is None:
            lines += ["No intervals: every game has one run, and the intervals come from drawing each game's runs "
                      "again; two seeds or more give them.", ""]
        else:
            lines += [f"Intervals: stratified bootstrap, {RESAMPLES:,} resamples that each draw every game's runs "
                      f"again from its own, with replacement; percentile intervals, from the fixed random seed "
                      f"{BOOTSTRAP_SEED}, so the same runs give the same summary. They say how far the figures could "
                      "move with other seeds on these games, not on other games.", ""]
            if aggregates.games == 1:
                lines += ["One game: the figures are over its seeds alone.", ""]
            elif aggregates.games_with_one_run:
                lines += ["Games with one run add no spread to the intervals: "
                          f"{aggregates.games_with_one_run} of the {aggregates.games} here.", ""]
        profile = aggregates.profile
        marks = [(mark, int(np.flatnonzero(profile.thresholds == mark)[0])) for mark in LANDMARKS
                 if mark in profile.thresholds]
        lines += ["Performance profile: the fraction of runs scoring above a human-normalised score (summary.png "
                  "draws it at every score).", "",
                  "| above | " + " | ".join(f"{mark:.0f}%" for mark, _ in marks) + " |",
                  "|---|" + "---:|" * len(marks),
                  "| runs | " + " | ".join(f"{profile.fraction_above[index]:.0%}" for _, index in marks) + " |"]
        if profile.lower is not None and profile.upper is not None:
            lines.append(f"| {CONFIDENCE:.0%} interval | " + " | ".join(
                _range(100 * profile.lower[index], 100 * profile.upper[index]) for _, index in marks) + " |")
        lines.append("")
    if left_out:
        lines += [f"Left out of these figures, for want of human and random scores: {', '.join(left_out)}.", ""]
    return "\n".join(lines)


def _range(lower: float | None, upper: float | None) -> str:
    return "–" if lower is None or upper is None else f"{lower:,.0f}% to {upper:,.0f}%"


def _number(value: object) -> object:
    return "" if value is None else repr(round(value, 4)) if isinstance(value, float) else value


def _shown(value: float | None, digits: int = 1, suffix: str = "") -> str:
    return "–" if value is None else f"{value:,.{digits}f}{suffix}"


def _markdown(folder: Path, specs: list[RunSpec], rows: list[dict], median: float | None,
              paper_median: float | None, games_scored: int) -> str:
    seeds = sorted({spec.seed for spec in specs})
    lines = [f"# Sweep {folder.name}", "",
             f"{counted(len(specs), 'run')}: {counted(len(rows), 'game')} x seeds {', '.join(map(str, seeds))}. "
             "Each run's final snapshot "
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
    lines += ["", f"Median human-normalised score over {counted(games_scored, 'game')}: {_shown(median, 0, '%')} "
                  f"(the paper, over the same games: {_shown(paper_median, 0, '%')}).", ""]
    missing = [Path(spec.folder).name for spec in specs
               if complete_summary(Path(spec.folder) / EVALUATION_FOLDER) is None]
    if missing:
        lines += [f"Not evaluated (failed or unfinished): {', '.join(missing)}.", ""]
    return "\n".join(lines)


def summary_figure(specs: list[RunSpec], aggregates: Aggregates | None) -> Figure:
    """The performance profile over every run, then per game the test score of every epoch: the mean over seeds
    and a band from the lowest to the highest."""
    games = list(dict.fromkeys(spec.game for spec in specs))
    columns = min(len(games) + 1, 3)
    panel_rows = -(-(len(games) + 1) // columns)
    figure = Figure(figsize=(5 * columns, 3.6 * panel_rows), dpi=80, layout="constrained")
    performance_profile(figure.add_subplot(panel_rows, columns, 1), aggregates)
    for index, game in enumerate(games, 2):
        axes = figure.add_subplot(panel_rows, columns, index)
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


def performance_profile(axes: Axes, aggregates: Aggregates | None) -> None:
    """The fraction of runs above each human-normalised score, its band, and the IQM in the legend."""
    axes.set_title("performance profile, every run" if aggregates is None else
                   f"performance profile: {counted(aggregates.runs, 'run')} of {counted(aggregates.games, 'game')}")
    axes.set_xlabel("human-normalised score τ")
    axes.set_ylabel("fraction of runs scoring above τ")
    axes.xaxis.set_major_formatter(PercentFormatter())
    axes.grid(alpha=0.3)
    if aggregates is None:
        axes.text(0.5, 0.5, "no run of a game with human scores\nevaluated yet", ha="center", va="center",
                  transform=axes.transAxes)
        return
    profile, iqm = aggregates.profile, aggregates.iqm
    if profile.lower is not None and profile.upper is not None:
        axes.fill_between(profile.thresholds, profile.lower, profile.upper, color="tab:orange", alpha=0.25,
                          label=f"{CONFIDENCE:.0%} stratified bootstrap band")
    interval = f" ({_range(iqm.lower, iqm.upper)})" if iqm.lower is not None else ", no interval: one run per game"
    axes.plot(profile.thresholds, profile.fraction_above, color="tab:orange",
              label=f"runs above τ; IQM {_shown(iqm.value, 0, '%')}{interval}")
    axes.axvline(0, color="grey", linestyle=":", linewidth=1, label="random play (0%) and human (100%)")
    axes.axvline(100, color="grey", linestyle=":", linewidth=1)
    axes.set_ylim(0, 1.05)
    axes.legend(loc="best", fontsize="small")
