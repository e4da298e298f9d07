"""Snapshots: everything needed to test, play or resume a run, in a file that cannot run code."""

from pathlib import Path

import torch

from errors import UsageError
from files import write_atomically

FORMAT = "simple_dqn snapshot"
VERSION = 1


def save_snapshot(path: Path, contents: dict) -> None:
    """``contents``: game, actions, options, epoch, network, counters, rng (see ``main.snapshot_contents``)."""
    stamped = {"format": FORMAT, "version": VERSION, **contents}
    write_atomically(Path(path), lambda file: torch.save(stamped, file))


def load_snapshot(path: str | Path) -> dict:
    """The snapshot's contents, or a UsageError saying why the file is not a usable snapshot."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"snapshot {path} does not exist")
    try:
        contents = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a damaged file fails in many ways inside torch.load; each means the same here
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(f"snapshot {path} is corrupt, truncated or not a snapshot ({reason[:200]})") from None
    if not isinstance(contents, dict) or contents.get("format") != FORMAT:
        raise UsageError(f"{path} is not a simple_dqn snapshot")
    if contents.get("version") != VERSION:
        raise UsageError(f"snapshot {path} has format version {contents.get('version')}; this version reads {VERSION}")
    return contents


def check_compatible(snapshot: dict, path: str | Path, game: str, action_names: list[str]) -> None:
    """A snapshot only drives the game and the action set it was trained on."""
    if snapshot["game"] != game:
        raise UsageError(f"snapshot {path} was trained on {snapshot['game']}, not {game}")
    if snapshot["actions"] != action_names:
        raise UsageError(
            f"snapshot {path} was trained with {len(snapshot['actions'])} actions ({', '.join(snapshot['actions'])}), "
            f"but this environment has {len(action_names)} ({', '.join(action_names)})"
        )
