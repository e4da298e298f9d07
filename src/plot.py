"""Training curves from results CSVs: ``python src/plot.py results/breakout.csv [more.csv ...]``.

Each figure shows one CSV column against the epoch, with the random phase as a flat
reference line and the train and test phases as curves; several CSVs share the axes
so runs can be compared.  A CSV still being written, or continued by a resumed run,
plots as it stands.
"""

import argparse
import math
import sys
from pathlib import Path

import matplotlib

from options import OptionParser
from phase_statistics import CSV_COLUMNS, read_csv_rows

DEFAULT_FIELDS = ("average_reward", "nr_games", "meanq", "meancost")
LABELS = {
    "average_reward": "Average reward per game", "nr_games": "Number of games", "meanq": "Average Q-value",
    "meancost": "Average loss", "steps": "Steps", "min_game_reward": "Lowest game reward",
    "max_game_reward": "Highest game reward", "last_exploration_rate": "Exploration rate",
    "total_train_steps": "Exploration steps", "replay_memory_count": "Replay memory count",
    "weight_updates": "Weight updates", "total_time": "Total time (s)", "epoch_time": "Phase time (s)",
    "steps_per_second": "Steps per second",
}
PHASE_STYLES = {"random": ":", "train": "-", "test": "--"}
NUMERIC_COLUMNS = tuple(column for column in CSV_COLUMNS if column not in ("epoch", "phase"))


def build_parser() -> OptionParser:
    parser = OptionParser(prog="plot.py", description="Plot results CSVs of simple_dqn runs against the epoch.")
    parser.add_argument("csv_files", nargs="+", type=Path, metavar="CSV", help="results CSV files; several are compared")
    parser.add_argument("--png_file", type=Path, help="the image to write (default: the first CSV with .png)")
    parser.add_argument("--show", action="store_true", help="show the figures in a window instead of only writing them")
    parser.add_argument("--fields", default=",".join(DEFAULT_FIELDS),
                        help="comma-separated CSV columns, one figure each, left to right and top to bottom")
    parser.add_argument("--dpi", type=int, default=80, help="dots per inch of the image")
    parser.add_argument("--figure_width", type=float, default=16, help="in inches (16 at 80 dpi = 1280 pixels)")
    parser.add_argument("--figure_height", type=float, default=9, help="in inches (9 at 80 dpi = 720 pixels)")
    return parser


def series(rows: list[dict], phase: str, field: str) -> tuple[list[int], list[float]]:
    """Epochs and values of one phase; the last row wins where an epoch appears twice."""
    by_epoch = {int(row["epoch"]): float(row[field]) for row in rows if row["phase"] == phase}
    epochs = sorted(by_epoch)
    return epochs, [by_epoch[epoch] for epoch in epochs]


def plot(runs: dict[str, list[dict]], fields: list[str], png_file: Path, show: bool, dpi: int,
         size: tuple[float, float]) -> None:
    if not show:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after choosing the backend
    from matplotlib.ticker import MaxNLocator

    columns = math.ceil(math.sqrt(len(fields)))
    grid_rows = math.ceil(len(fields) / columns)
    figure, axes = plt.subplots(grid_rows, columns, figsize=size, dpi=dpi, squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for axis, field in zip(axes.flat, fields):
        for run_number, (name, rows) in enumerate(runs.items()):
            colour = colours[run_number % len(colours)] if len(runs) > 1 else None
            train_epochs = series(rows, "train", field)[0] or [0, 1]
            for phase, style in PHASE_STYLES.items():
                epochs, values = series(rows, phase, field)
                if phase == "random" and values:  # a reference level across the epochs trained
                    epochs, values = [min(train_epochs), max(train_epochs)], [values[-1]] * 2
                label = phase.capitalize() if len(runs) == 1 else f"{name} {phase}"
                if not all(math.isnan(value) for value in values):  # a test phase has no loss, for one
                    axis.plot(epochs, values, style, color=colour, label=label)
        axis.set_title(LABELS.get(field, field))
        axis.set_xlabel("Epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylabel(LABELS.get(field, field))
        axis.legend(loc="best", fontsize="small")
    for axis in axes.flat[len(fields):]:
        axis.set_visible(False)
    figure.tight_layout()
    figure.savefig(png_file)
    if show:
        plt.show()


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    fields = [field.strip() for field in arguments.fields.split(",") if field.strip()]
    unknown = [field for field in fields if field not in NUMERIC_COLUMNS]
    if unknown or not fields:
        print(f"error: --fields {arguments.fields!r}: {', '.join(unknown) or 'none given'} not in the CSV; "
              f"its columns are {', '.join(NUMERIC_COLUMNS)}", file=sys.stderr)
        return 2
    runs = {}
    for csv_file in arguments.csv_files:
        try:
            rows = read_csv_rows(csv_file)
        except OSError as error:
            print(f"error: cannot read {csv_file}: {error.strerror}", file=sys.stderr)
            return 2
        if not rows or set(CSV_COLUMNS) - set(rows[0]):
            print(f"error: {csv_file} is not a results CSV of simple_dqn (no rows, or columns missing)", file=sys.stderr)
            return 2
        runs[csv_file.stem] = rows
    png_file = arguments.png_file or arguments.csv_files[0].with_suffix(".png")
    try:
        plot(runs, fields, png_file, arguments.show, arguments.dpi, (arguments.figure_width, arguments.figure_height))
    except OSError as error:
        print(f"error: cannot write {png_file}: {error.strerror}", file=sys.stderr)
        return 2
    print(f"wrote {png_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
