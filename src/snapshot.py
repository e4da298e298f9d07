"""Snapshots: everything needed to test, play or resume a run, in a file that cannot run code."""

import hashlib
import warnings
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from errors import UsageError
from heads import HEAD_OPTIONS
from files import write_atomically

FORMAT = "simple_dqn snapshot"
VERSION = 1
# Options that decide the network's shape: a snapshot only fits a network built with its own.
SHAPE_OPTIONS = ("history_length", "screen_height", "screen_width", *HEAD_OPTIONS)


def save_snapshot(path: Path, contents: dict) -> None:
    """``contents``: game, actions, options, epoch, network, counters, rng (see ``main.PhaseRunner._save``)."""
    stamped = {"format": FORMAT, "version": VERSION, **contents}
    stamped["checksum"] = checksum(stamped)
    write_atomically(Path(path), lambda file: _save_tensors(stamped, file))


def _save_tensors(contents: dict, file: BinaryIO) -> None:
    """``torch.save``, whose zip writer reports a failed write (a full disk) as a RuntimeError: an OSError here."""
    try:
        torch.save(contents, file)
    except RuntimeError as error:
        raise OSError(f"writing failed ({str(error).splitlines()[0]})") from error


def load_snapshot(path: str | Path) -> dict:
    """The snapshot's contents, or a UsageError saying why the file is not a usable snapshot."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"snapshot {path} does not exist")
    if not path.is_file():
        raise UsageError(f"snapshot {path} is not a file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            contents = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a damaged file fails in many ways inside torch.load; each means the same here
        if "Unsupported global" in str(error):
            raise UsageError(f"{path} is not a simple_dqn snapshot: it holds Python objects, not just weights "
                             "and plain data, and is not loaded because it could run code") from None
        raise UsageError(f"snapshot {path} is corrupt, truncated or not a snapshot file") from None
    if not isinstance(contents, dict) or contents.get("format") != FORMAT:
        raise UsageError(f"{path} is not a simple_dqn snapshot")
    if contents.get("version") != VERSION:
        raise UsageError(f"snapshot {path} has format version {contents.get('version')}; this version reads {VERSION}")
    stored = contents.pop("checksum", None)
    if stored != checksum(contents):
        raise UsageError(f"snapshot {path} is corrupt: its contents do not match the checksum saved with them")
    return contents


def pack_screens(array: np.ndarray) -> dict:
    """uint8 screens as a compressed tensor: Atari screens shrink tenfold or more."""
    packed = np.frombuffer(zlib.compress(array.tobytes(), 6), dtype=np.uint8).copy()
    return {"zlib": torch.from_numpy(packed), "shape": tuple(array.shape)}


def unpack_screens(packed: dict) -> np.ndarray:
    # A bytearray, so the states are writable, as PyTorch wants of the arrays it wraps.
    return np.frombuffer(bytearray(zlib.decompress(packed["zlib"].numpy().tobytes())), dtype=np.uint8).reshape(packed["shape"])


def checksum(contents: dict) -> str:
    """SHA-256 over every value, tensors by their bytes: catches damage that still unpickles."""
    digest = hashlib.sha256()
    _update(digest, contents)
    return digest.hexdigest()


def _update(digest: "hashlib._Hash", value: object) -> None:
    if isinstance(value, torch.Tensor):
        digest.update(f"{value.dtype}{tuple(value.shape)}".encode())
        digest.update(value.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        for key in sorted(value, key=repr):
            digest.update(repr(key).encode())
            _update(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(f"[{len(value)}".encode())
        for item in value:
            _update(digest, item)
    else:
        digest.update(repr(value).encode())


def check_compatible(snapshot: dict, path: str | Path, game: str, action_names: list[str], options: dict) -> None:
    """A snapshot only drives the game, the action set and the network shape it was trained with."""
    if snapshot["game"] != game:
        raise UsageError(f"snapshot {path} was trained on {snapshot['game']}, not {game}")
    if snapshot["actions"] != action_names:
        raise UsageError(
            f"snapshot {path} was trained with {len(snapshot['actions'])} actions ({', '.join(snapshot['actions'])}), "
            f"but this environment has {len(action_names)} ({', '.join(action_names)})"
        )
    for name in SHAPE_OPTIONS:
        trained_with = snapshot["options"].get(name, False)  # a head option that earlier versions lacked was off
        if options[name] != trained_with:
            raise UsageError(f"snapshot {path} was trained with --{name} {trained_with}, "
                             f"not {options[name]}: the network's shape depends on it")
