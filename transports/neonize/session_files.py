"""Where a master's WhatsApp session is kept: a sqlite file of its own, or a Postgres DSN
shared by all masters (docs/going-live.md). These functions touch only the sqlite files;
neonize itself reads and writes the session (transports/neonize/binding.py).
"""
from __future__ import annotations

import os

_SUFFIXES = ("", "-wal", "-shm", "-journal")   # sqlite's file and its companions


def is_postgres(store: str) -> bool:
    return store.startswith("postgres")


def prepare(store: str) -> None:
    """Create the sqlite file's directory (a DSN needs nothing)."""
    if not is_postgres(store):
        os.makedirs(os.path.dirname(os.path.abspath(store)), exist_ok=True)


def make_private(store: str) -> None:
    """The session's keys are the account: 0600 whatever the umask (docs/architecture.md)."""
    for suffix in _SUFFIXES:
        if not is_postgres(store) and os.path.exists(store + suffix):
            os.chmod(store + suffix, 0o600)


def forget(store: str) -> None:
    """Delete a sqlite session, so the next link starts a new device (a DSN is left alone)."""
    if is_postgres(store):
        return
    for suffix in _SUFFIXES:
        try:
            os.remove(store + suffix)
        except FileNotFoundError:
            pass
