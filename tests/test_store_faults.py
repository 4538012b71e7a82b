"""Storage faults (issue 13, fault 7): a full disk, a store deleted underneath, a schema from the future.

The full disk is real: a 2 MiB tmpfs mounted for the test (skipped where
mounting is not permitted), filled with a file, then freed.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from storage import Store, codec, outbox, schema
from storage.faults import StoreFull, StoreReplaced, reserved_file


@pytest.fixture
def tiny_disk(tmp_path):
    path = tmp_path / "disk"
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    try:
        yield str(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: str) -> str:
    filler = os.path.join(disk, "filler")
    with open(filler, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_is_a_clear_error_writes_nothing_and_heals(tiny_disk, capsys):
    with Store(tiny_disk) as store:
        store.write(lambda txn: outbox.enqueue(txn, "+447700900001", "before"))
        filler = fill(tiny_disk)
        with pytest.raises(StoreFull) as info:
            store.write(lambda txn: [outbox.enqueue(txn, f"+4477009{i:05d}", "x" * 2000, kind="campaign")
                                     for i in range(500)])
        assert "is full" in str(info.value) and "nothing of this change was written" in str(info.value)
        with store.read() as txn:
            assert [e.text for e in outbox.all(txn)] == ["before"]     # nothing half-written
        assert "store_fault StoreFull" in capsys.readouterr().err    # stderr still gets it
        with open(reserved_file(tiny_disk), "rb") as f:
            assert b"store_fault StoreFull" in f.read(4096)          # and the reserved file
        os.unlink(filler)
        store.write(lambda txn: outbox.enqueue(txn, "+447700900002", "after"))   # room again: it works
        with store.read() as txn:
            assert sorted(e.text for e in outbox.all(txn)) == ["after", "before"]


def test_a_full_disk_is_said_once_until_a_write_succeeds_again(tiny_disk, capsys):
    """An actor holding its writes tries again every second (actors/store_room.py): the
    fault is said once, and its end once, not once per try."""
    with Store(tiny_disk) as store:
        filler = fill(tiny_disk)
        for _ in range(3):
            with pytest.raises(StoreFull):
                store.write(lambda txn: [outbox.enqueue(txn, f"+4477009{i:05d}", "x" * 2000, kind="campaign")
                                         for i in range(500)])
        assert capsys.readouterr().err.count("store_fault StoreFull") == 1
        os.unlink(filler)
        store.write(lambda txn: outbox.enqueue(txn, "+447700900002", "after"))
        store.write(lambda txn: outbox.enqueue(txn, "+447700900003", "after"))
        assert capsys.readouterr().err.count("store_room_again") == 1
        with open(reserved_file(tiny_disk), "rb") as f:
            assert b"store_room_again" in f.read(4096).split(b"\n")[0]   # the latest line first


def test_a_store_deleted_underneath_is_refused_not_written_into(tmp_path):
    home = str(tmp_path)
    with Store(home) as store:
        store.write(lambda txn: outbox.enqueue(txn, "+447700900001", "kept"))
        shutil.rmtree(os.path.join(home, "store"))
        with pytest.raises(StoreReplaced):
            store.write(lambda txn: outbox.enqueue(txn, "+447700900002", "into the void"))
    with pytest.raises(StoreReplaced) as info:   # a process of the same daemon restarting
        Store(home)
    assert "deleted or replaced while the daemon ran" in str(info.value)


def test_a_schema_from_the_future_is_named_by_daemon_start(home, port):
    with Store(home) as store:
        store.write(lambda txn: txn.raw.put(b"schema", codec.u64(99), db=store.dbs["meta"]))
    from conftest import Daemon
    d = Daemon(home, port)
    r = d.cli("daemon", "start", "--transport", "sim", check=False)
    d.stop()
    assert r.returncode == 1
    assert "store schema 99" in r.stderr and f"newer than this program's {schema.CURRENT}" in r.stderr
    assert os.path.join(home, "store") in r.stderr
