"""Faults of the store itself: a full disk, a store replaced or deleted underneath.

Both are told to the caller as a clear error, never as a timeout or a crash
loop, and written where they still get out when the disk is full: stderr
and a file reserved (allocated) when the store opens, overwritten in place.
"""
from __future__ import annotations

import os
import sys
import time
import uuid

RESERVED_BYTES = 64 << 10
FULL_BELOW = 4 << 20     # free bytes under which a failed write is a full disk: a few big transactions' room
STORE_ID_KEY = b"store_id"


class StoreFull(RuntimeError):
    """A write found no room (disk or map full): nothing of it was written."""


class StoreReplaced(RuntimeError):
    """The store's files were deleted or replaced under the running daemon."""


def reserved_file(home: str) -> str:
    return os.path.join(home, "logs", "store-faults.log")


def reserve(home: str) -> None:
    """Allocate the fault log's room now, while there is room."""
    path = reserved_file(home)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if os.fstat(fd).st_size < RESERVED_BYTES:
                os.posix_fallocate(fd, 0, RESERVED_BYTES)
        finally:
            os.close(fd)
    except OSError:
        pass   # no room even for this: stderr remains


def emergency(home: str, message: str) -> None:
    """One line to stderr and to the reserved file (the latest line first; no new blocks)."""
    line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} pid {os.getpid()} {message}\n"
    try:
        sys.stderr.write(line)
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    try:
        fd = os.open(reserved_file(home), os.O_RDWR)
        try:
            os.pwrite(fd, line.encode()[:4095].ljust(4096), 0)   # in place: needs no new block
        finally:
            os.close(fd)
    except OSError:
        pass


def free_bytes(path: str) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def standing(home: str, since: float) -> str | None:
    """A store fault still standing, for `daemon status`: the reserved file's latest line when
    it tells one written after `since`, else a disk with too little room. (Small writes may
    still find free pages inside the store's file after a big one was refused, and say
    `store_room_again`: the free space tells the rest.)"""
    try:
        with open(reserved_file(home), "rb") as f:
            fresh = os.fstat(f.fileno()).st_mtime >= since
            line = f.read(4096).split(b"\n", 1)[0].decode(errors="replace").strip()
        if fresh and " store_fault " in line:
            return line
        free = free_bytes(os.path.join(home, "store"))
    except OSError:
        return None
    if free < FULL_BELOW:
        return f"the disk of {os.path.join(home, 'store')} is nearly full: {free} bytes free"
    return None


def file_id(store_path: str) -> tuple[int, int] | None:
    """(device, inode) of the store's data file, None when it is gone."""
    try:
        st = os.stat(os.path.join(store_path, "data.mdb"))
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def marker(home: str) -> str:
    return os.path.join(home, "run", "store.id")


def new_store_id() -> bytes:
    return uuid.uuid4().hex.encode()


def check_marker(home: str, store_id: bytes) -> None:
    """The daemon's processes must all use the store it started with: one created
    since (the files deleted, a copy put in place) is refused."""
    path = marker(home)
    try:
        with open(path, "rb") as f:
            expected = f.read().strip()
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(store_id)
        return
    if expected and expected != store_id:
        raise StoreReplaced(f"the store of {home} was deleted or replaced while the daemon ran "
                            f"(store id {store_id.decode()}, the daemon started with {expected.decode()}); "
                            f"what it wrote since is not there. Stop the daemon, put the store back "
                            f"(or accept the new one) and start it again")


def forget_marker(home: str) -> None:
    """A daemon start accepts the store it finds."""
    try:
        os.unlink(marker(home))
    except FileNotFoundError:
        pass
