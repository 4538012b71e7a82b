"""Inbound files not downloaded yet: the lane a restarted session resumes them from.

A customer's photo or voice note is stored `pending` and handed to the session's
media worker (conversations/media.py). That worker lives in the session's process:
if the process ends first, the download is lost. So each pending file also has a
key here, written in the same transaction as its message and deleted in the
same transaction as its final outcome, like storage/outbox_lanes.py keeps the
outbox's lanes: present exactly while the file is pending.

Key: receiving master, NUL, the message's time (ms, big-endian), the message id.
A restarted session reads only its own master's keys, oldest first, and stops
at its cap (conversations/media_resume.py) without touching the rest. The value
keeps what the transport needs to fetch the file again (`ref`) and the media's
declared fields.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from storage.codec import text, u64
from storage.env import Txn

DB = "media_pending"


@dataclass
class PendingMedia:
    master: str          # the account that received it: its transport fetches it
    customer: str        # the conversation it is in (at the time it arrived)
    message_id: str
    ts: float            # the message's time
    ref: str             # the transport's handle to fetch it again (transports/events.py Media.ref)
    mime: str = ""
    size: int = 0
    seconds: int = 0
    file_name: str = ""
    sha256: str = ""


def key(master: str, ts: float, message_id: str) -> bytes:
    return text(master) + b"\0" + u64(max(0, int(ts * 1000))) + text(message_id)


def add(txn: Txn, p: PendingMedia) -> None:
    txn.put(DB, key(p.master, p.ts, p.message_id), p)


def remove(txn: Txn, master: str, ts: float, message_id: str) -> None:
    txn.delete(DB, key(master, ts, message_id))


def oldest(txn: Txn, master: str) -> Iterator[PendingMedia]:
    """One master's pending files, oldest first (stop reading when you have enough)."""
    for _, p in txn.scan(DB, PendingMedia, prefix=text(master) + b"\0"):
        yield p
