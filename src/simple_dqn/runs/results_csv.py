"""The results CSV: one row per phase, the original simple_dqn's 16 columns in order, written atomically."""

import csv
import io
from pathlib import Path

from simple_dqn.files import write_atomically

CSV_COLUMNS = (
    "epoch", "phase", "steps", "nr_games", "average_reward", "min_game_reward", "max_game_reward",
    "last_exploration_rate", "total_train_steps", "replay_memory_count", "meanq", "meancost",
    "weight_updates", "total_time", "epoch_time", "steps_per_second",
)
TIME_COLUMNS = ("total_time", "epoch_time", "steps_per_second")
PHASE_ORDER = ("random", "train", "test")


def read_csv_rows(path: Path) -> list[dict]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def append_csv_row(path: Path, row: dict) -> None:
    """Rewrite the whole (small) file and rename it into place, so a row is never half-written."""
    previous = read_csv_rows(path) if Path(path).exists() else []
    _write_rows(path, [*previous, {key: _format(value) for key, value in row.items()}])


def keep_rows_before(path: Path, epoch: int, phase: str) -> int:
    """Drop the rows of ``phase`` of ``epoch`` and after (left by a run that went on past the snapshot now
    resumed, or by the phase it stopped in); how many."""
    rows = read_csv_rows(path)
    point = (epoch, PHASE_ORDER.index(phase))
    kept = [row for row in rows if (int(row["epoch"]), PHASE_ORDER.index(row["phase"])) < point]
    if len(kept) < len(rows):
        _write_rows(path, kept)
    return len(rows) - len(kept)


def _write_rows(path: Path, rows: list[dict]) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(path, lambda file: file.write(text.getvalue().encode()))


def _format(value: object) -> object:
    return f"{value:.6g}" if isinstance(value, float) else value
