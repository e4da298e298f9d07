"""Training curves from results CSVs: ``./plot.sh results/breakout.csv [more.csv ...]``.

Each figure shows one CSV column against the epoch, with the random phase as a flat
reference line and the train and test phases as curves; several CSVs share the axes
so runs can be compared.  A CSV still being written, or continued by a resumed run,
plots as it stands.
"""

import csv
import math
import os
import sys
from pathlib import Path

import matplotlib
from matplotlib.artist import Artist
from matplotlib.figure import Figure

from simple_dqn.option import OptionParser, number_type, positive_float
from simple_dqn.runs.results_csv import CSV_COLUMNS, read_csv_rows

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
PHASE_COLOURS = {"random": "grey", "train": "tab:blue", "test": "tab:orange"}  # the same in every figure of a run
IMAGE_SUFFIXES = (".png", ".svg", ".pdf", ".jpg")
NUMERIC_COLUMNS = tuple(column for column in CSV_COLUMNS if column not in ("epoch", "phase"))


def build_parser() -> OptionParser:
    parser = OptionParser(prog="plot.sh", usage="%(prog)s CSV [CSV ...] [options]",
                          description="Plot results CSVs of simple_dqn runs against the epoch.")
    parser.add_argument("csv_files", nargs="+", type=Path, metavar="CSV",
                        help="A run's results CSV (results/breakout.csv); several are compared in one figure.")
    parser.add_argument("--png_file", type=Path, metavar="PATH",
                        help="The image to write: .png, .svg, .pdf or .jpg (default: the first CSV with .png).")
    parser.add_argument("--show", action="store_true", help="Show the figures in a window as well as writing them.")
    parser.add_argument("--fields", default=",".join(DEFAULT_FIELDS), metavar="COLUMNS",
                        help="Comma-separated CSV columns, one figure each, left to right and top to bottom.")
    parser.add_argument("--dpi", type=number_type(int, 1, 600, what="between 1 and 600"), default=80, metavar="N",
                        help="Dots per inch of the image.")
    parser.add_argument("--figure_width", type=positive_float, default=16, metavar="X",
                        help="In inches; 16 at 80 dpi is 1280 pixels.")
    parser.add_argument("--figure_height", type=positive_float, default=9, metavar="X",
                        help="In inches; 9 at 80 dpi is 720 pixels.")
    return parser


def parsed_row(row: dict) -> dict:
    """A CSV row with its numbers as numbers; a row cut short or holding text raises TypeError or ValueError."""
    return {"phase": row["phase"], "epoch": int(row["epoch"]),
            **{column: float(row[column]) for column in NUMERIC_COLUMNS}}


def series(rows: list[dict], phase: str, field: str) -> tuple[list[int], list[float]]:
    """Epochs and values of one phase; the last row wins where an epoch appears twice."""
    by_epoch = {row["epoch"]: row[field] for row in rows if row["phase"] == phase}
    epochs = sorted(by_epoch)
    return epochs, [by_epoch[epoch] for epoch in epochs]


def run_names(csv_files: list[Path]) -> list[str]:
    """The legend's name of each run: its file name, with as many parent folders as tell runs apart."""
    parts = 1
    while True:
        names = ["/".join(csv_file.with_suffix("").parts[-parts:]) for csv_file in csv_files]
        if len(set(names)) == len(names) or parts >= max(len(csv_file.parts) for csv_file in csv_files):
            return names
        parts += 1


def draw(runs: dict[str, list[dict]], fields: list[str], dpi: int, size: tuple[float, float]) -> Figure:
    """One figure per field, each run's random, train and test phases against the epoch."""
    import matplotlib.pyplot as plt  # after main has chosen the backend
    from matplotlib.ticker import MaxNLocator

    columns = math.ceil(math.sqrt(len(fields)))
    grid_rows = math.ceil(len(fields) / columns)
    figure, axes = plt.subplots(grid_rows, columns, figsize=size, dpi=dpi, squeeze=False)
    run_colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    last_epoch = max(1, *(row["epoch"] for rows in runs.values() for row in rows))
    for axis, field in zip(axes.flat, fields, strict=False):
        for run_number, (name, rows) in enumerate(runs.items()):
            train_epochs = series(rows, "train", field)[0] or [0, 1]
            for phase, style in PHASE_STYLES.items():
                epochs, values = series(rows, phase, field)
                if phase == "random" and values:  # a reference level across the epochs trained
                    epochs, values = [min(train_epochs), max(train_epochs)], [values[-1]] * 2
                one_run = len(runs) == 1
                colour = PHASE_COLOURS[phase] if one_run else run_colours[run_number % len(run_colours)]
                label = phase.capitalize() if one_run else f"{name} {phase}"
                if not all(math.isnan(value) for value in values):  # a test phase has no loss, for one
                    # Markers show a curve of one point, as after a run's first epoch, and points between gaps.
                    axis.plot(epochs, values, style, color=colour, label=label,
                              marker=None if phase == "random" else "o", markersize=3)
        axis.set_title(LABELS.get(field, field))
        axis.set_xlabel("Epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_xlim(-0.03 * last_epoch, 1.03 * last_epoch)  # every figure spans the same epochs
        axis.set_ylabel(LABELS.get(field, field))
    legend: dict[str, Artist] = {}
    for axis in axes.flat:
        for line, label in zip(*axis.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, line)
    figure.legend(list(legend.values()), list(legend.keys()), loc="lower center", ncol=min(len(legend), 6),
                  fontsize="small")
    legend_rows = math.ceil(len(legend) / 6)
    for axis in axes.flat[len(fields):]:
        axis.set_visible(False)
    figure.tight_layout(rect=(0, 0.035 * legend_rows, 1, 1))  # room for one legend under all the figures
    return figure


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    fields = [field.strip() for field in arguments.fields.split(",") if field.strip()]
    unknown = [field for field in fields if field not in NUMERIC_COLUMNS]
    if unknown or not fields:
        print(f"error: --fields {arguments.fields!r}: {', '.join(unknown) or 'none given'} not in the CSV; "
              f"its columns are {', '.join(NUMERIC_COLUMNS)}", file=sys.stderr)
        return 2
    runs = {}
    for csv_file, name in zip(arguments.csv_files, run_names(arguments.csv_files), strict=True):
        try:
            rows = read_csv_rows(csv_file)
        except OSError as error:
            print(f"error: cannot read {csv_file}: {error.strerror}", file=sys.stderr)
            return 2
        except (UnicodeDecodeError, csv.Error):
            rows = []
        if not rows or set(CSV_COLUMNS) - set(rows[0]):
            print(f"error: {csv_file} is not a results CSV of simple_dqn (no rows, or columns missing)",
                  file=sys.stderr)
            return 2
        try:
            runs[name] = [parsed_row(row) for row in rows]
        except (TypeError, ValueError):
            print(f"error: {csv_file} has a row that is cut short or not numbers: is it a results CSV of simple_dqn?",
                  file=sys.stderr)
            return 2
    png_file = arguments.png_file or arguments.csv_files[0].with_suffix(".png")
    if png_file.suffix.lower() not in IMAGE_SUFFIXES:
        print(f"error: --png_file {png_file}: name an image ending in {', '.join(IMAGE_SUFFIXES)}", file=sys.stderr)
        return 2
    show = arguments.show and bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if arguments.show and not show:
        print("warning: no graphical display to --show on (DISPLAY is not set); writing the image only",
              file=sys.stderr)
    if not show:
        matplotlib.use("Agg")
    figure = draw(runs, fields, arguments.dpi, (arguments.figure_width, arguments.figure_height))
    try:
        figure.savefig(png_file)
    except OSError as error:
        print(f"error: cannot write {png_file}: {error.strerror}", file=sys.stderr)
        return 2
    print(f"wrote {png_file}")
    if show:
        import matplotlib.pyplot as plt

        plt.show()
    return 0


if __name__ == "__main__":
    sys.exit(main())
