"""The snapshot a script is given: a file, or a run's name (``snapshots/breakout``) for its newest snapshot."""

import re
import sys
from pathlib import Path


def snapshots_of_run(prefix: str) -> dict[int, Path]:
    """Each epoch's ``PREFIX_<epoch>.pkl`` that exists: exactly that name and a number, no other run's label."""
    pattern = re.compile(rf"{re.escape(Path(prefix).name)}_(\d+)\.pkl")
    matches = (pattern.fullmatch(path.name) for path in Path(prefix).parent.glob("*.pkl"))
    return {int(match[1]): Path(prefix).parent / match[0] for match in matches if match}


def newest_snapshot(prefix: str) -> Path | None:
    snapshots = snapshots_of_run(prefix)
    return snapshots[max(snapshots)] if snapshots else None


def main(argument: str) -> int:
    if Path(argument).exists():
        print(argument)
        return 0
    newest = newest_snapshot(argument)
    if newest is None:
        print(f"error: snapshot {argument} does not exist (a file that ./train.sh wrote, such as "
              "snapshots/breakout_3.pkl, or a run's name, such as snapshots/breakout, for its newest snapshot)",
              file=sys.stderr)
        return 2
    print(newest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
