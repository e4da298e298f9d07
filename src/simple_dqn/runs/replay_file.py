"""Replay memory on disk, so a resumed run learns from the same transitions it would have had.

The file is numpy's own ``.npz`` (an uncompressed zip of ``.npy`` arrays): any numpy reads it.
It is written straight from the memory's arrays and read straight back into them, a chunk at
a time, so saving or loading a 7 GB memory never needs a second 7 GB.  Compressed screens are
saved as they are, each one's bytes one after another with their lengths; saving and loading
them holds one more copy of those bytes for a moment (under 1.6 GB for the games measured).

A memory of several streams (``--num_envs``) also says how many in its header, and its
``episode_ended`` is a list of a bool per stream; a one-stream file is as it always was.
"""

import io
import json
import zipfile
from pathlib import Path
from typing import BinaryIO, cast

import numpy as np

from simple_dqn.dqn.replay_memory import ReplayMemory
from simple_dqn.errors import UsageError
from simple_dqn.files import write_atomically

FORMAT = "simple_dqn replay memory"
VERSION = 1
CHUNK_BYTES = 16 << 20


def save_replay(path: Path, memory: ReplayMemory, save_id: str, epoch: int) -> None:
    """Written with the snapshot of ``epoch``; ``save_id``, in both files, ties the two together."""
    contents = memory.contents()
    streams = {"streams": memory.streams} if memory.streams > 1 else {}
    header = {"format": FORMAT, "version": VERSION, "save_id": save_id, "epoch": epoch, "size": memory.size,
              **streams, **contents["counters"], "compressed": memory.compressed}
    arrays = {"header": np.array(json.dumps(header)), **contents["arrays"], **contents["screens"]}
    write_atomically(path, lambda file: _write_npz(file, arrays))


def _write_npz(file: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
    with zipfile.ZipFile(file, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def replay_save_id(path: Path) -> str | None:
    """Which save a replay file belongs to; None for a file that is missing or not one."""
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(str(_read_array(archive, "header"))).get("save_id")
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile, EOFError, json.JSONDecodeError):
        return None


def load_replay(path: Path, memory: ReplayMemory, save_id: str, epoch: int) -> None:
    """Fill ``memory`` from ``path``, or say why the file cannot be the memory of that snapshot.

    Arrays of a fixed size are read straight into the memory's own (``ReplayMemory.contents``)."""
    try:
        with zipfile.ZipFile(path) as archive:
            header = json.loads(str(_read_array(archive, "header")))
            if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("version") != VERSION:
                raise UsageError(f"{path} is not a replay memory file of this version of simple_dqn")
            if header["save_id"] != save_id:
                raise UsageError(f"{path} holds the replay memory of another snapshot (epoch {header['epoch']}) "
                                 f"than this one (epoch {epoch}): replay memory is kept for the newest snapshot only")
            compressed, streams = memory.compressed, header.get("streams", 1)
            if header["size"] != memory.size or header["compressed"] != compressed or streams != memory.streams:
                raise UsageError(f"{path} holds a memory of {header['size']} transitions"
                                 f"{' compressed' if header['compressed'] else ''}{_in_streams(streams)}, not "
                                 f"{memory.size}{' compressed' if compressed else ''}{_in_streams(memory.streams)}: "
                                 "resume with the run's own --replay_size, --replay_compress and --num_envs")
            own = memory.contents()
            memory.load_contents({
                "arrays": {name: _read_array(archive, name, into=array) for name, array in own["arrays"].items()},
                "screens": {name: _read_array(archive, name, into=None if compressed else array)
                            for name, array in own["screens"].items()},
                "counters": {name: header[name] for name in own["counters"]},
            })
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile, EOFError, json.JSONDecodeError) as error:
        if isinstance(error, FileNotFoundError):
            raise UsageError(f"replay memory file {path} does not exist") from None
        raise UsageError(f"replay memory file {path} is corrupt or truncated") from None


def _in_streams(streams: object) -> str:
    """How a message names a memory's streams: not at all when it has one, as before streams were."""
    return "" if streams == 1 else f" in {streams} streams"


def _read_array(archive: zipfile.ZipFile, name: str, into: np.ndarray | None = None) -> np.ndarray:
    """A member's array; read into ``into`` when given, which must have its shape and type."""
    with archive.open(f"{name}.npy") as member:
        version = np.lib.format.read_magic(member)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(member)
        if dtype.hasobject or fortran_order:
            raise ValueError(f"{name} is not a plain array")
        target = np.empty(shape, dtype) if into is None else into
        if target.shape != tuple(shape) or target.dtype != dtype:
            raise ValueError(f"{name} has shape {shape} and type {dtype}, not {target.shape} and {target.dtype}")
        view = target.reshape(-1).view(np.uint8).data
        for start in range(0, len(view), CHUNK_BYTES):
            chunk = view[start:start + CHUNK_BYTES]
            if cast(io.BufferedIOBase, member).readinto(chunk) != len(chunk):
                raise EOFError(f"{name} is cut short")
        return target
