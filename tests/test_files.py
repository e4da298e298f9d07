"""Files written atomically and durably: the old version or the new one, and a reported rename kept."""

import os
import stat

import pytest

from simple_dqn import files
from simple_dqn.files import write_atomically


def test_a_write_replaces_the_file_whole_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "row.csv"
    path.write_bytes(b"old")
    write_atomically(path, lambda file: file.write(b"new"))
    assert path.read_bytes() == b"new"
    assert sorted(tmp_path.iterdir()) == [path]


def test_a_write_that_fails_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "row.csv"
    path.write_bytes(b"old")

    def fail_halfway(file):
        file.write(b"ne")
        raise OSError("disk full")
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, fail_halfway)
    assert path.read_bytes() == b"old"
    assert sorted(tmp_path.iterdir()) == [path]


def test_the_folder_is_flushed_to_disk_after_the_rename(tmp_path, monkeypatch):
    """The real calls, in the order they were made: the file's data, the rename, then the folder's entries."""
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(descriptor):
        calls.append("fsync folder" if stat.S_ISDIR(os.fstat(descriptor).st_mode) else "fsync file")
        real_fsync(descriptor)

    def replace(source, target):
        calls.append("rename")
        real_replace(source, target)
    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(files.os, "replace", replace)
    write_atomically(tmp_path / "snapshot.pkl", lambda file: file.write(b"weights"))
    assert calls == ["fsync file", "rename", "fsync folder"]
    assert (tmp_path / "snapshot.pkl").read_bytes() == b"weights"
