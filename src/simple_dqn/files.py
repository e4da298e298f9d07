"""Writing files so that a crash or Ctrl-C leaves the old version or the new one, never half of one; and where the
toolkit's own files lie."""

import os
import re
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from simple_dqn.errors import UsageError

TOOLKIT_ROOT = Path(__file__).resolve().parents[2]  # the checkout: its scripts, roms/ and requirements files


def write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Let ``write`` fill a temporary file beside ``path``, flush it to disk, then rename it over ``path``."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # os.open with 0o666 lets the umask decide the mode, as for any new file (mkstemp would force 0600).
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        replace_durably(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def replace_durably(source: Path, target: Path) -> None:
    """Rename ``source`` over ``target``, then flush their folder to disk: a rename lives in the folder's
    entries, and until those reach the disk a power cut can undo a rename already reported done."""
    os.replace(source, target)
    folder = os.open(Path(target).parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def remove_unfinished_writes(folder: Path, name_pattern: str) -> int:
    """Delete the temporary files that ``write_atomically`` left, for files whose names match the regular
    expression ``name_pattern`` in ``folder``, when its process was killed mid-write; how many."""
    temporary = re.compile(rf"\.(?:{name_pattern})\.[0-9a-f]{{8}}\.tmp")
    unfinished = [path for path in Path(folder).glob(".*.tmp") if temporary.fullmatch(path.name)]
    for path in unfinished:
        path.unlink(missing_ok=True)
    return len(unfinished)


def ensure_writable_folder(folder: Path, what: str) -> None:
    """Fail before the run starts, not after its first epoch, when outputs cannot be written."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise UsageError(f"cannot write {what} to folder {folder}: {error.strerror or error}") from None


def check_output_path(path: str, kind: str, option: str) -> None:
    """Refuse, before a run starts, a path it could not write: a folder where a file or a snapshot prefix goes, a
    file where a folder goes, a path through a file, or a folder no file can be made in (nothing is created).

    Placeholders such as ``{game}`` stay unfilled: a folder they name is made when the run starts.
    """
    given = f"--{option} {path}"
    if "\x00" in path:
        raise UsageError(f"{given!r}: a path cannot hold a NUL character")
    target = existing = Path(path)
    try:
        if kind != "folder" and (path.endswith(("/", os.sep)) or target.is_dir()):
            what = (f"snapshots are PREFIX_EPOCH.pkl, so give a prefix in it, such as {target / '{game}'}"
                    if kind == "prefix" else "name a file in it")
            raise UsageError(f"{given} is a folder: {what}")
        if kind == "folder" and target.exists() and not target.is_dir():
            raise UsageError(f"{given} is a file: name a folder")
        existing = target if kind == "folder" else target.parent
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            raise UsageError(f"{given} goes through {existing}, which is a file")
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise UsageError(f"{given}: cannot write in {existing}: {error.strerror or error}") from None
