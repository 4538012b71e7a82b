"""Downloads an earlier process of the session left pending: fetched again, once, when it connects.

The media worker (conversations/media.py) lives in the session's process, so a
crash, a SIGKILL or a restart loses the downloads it had not finished. Each
pending file is therefore indexed (storage/media_pending.py) in the same
transaction as its message, with the transport's handle to fetch it again
(transports/events.py `Media.ref`), and leaves the index with its final outcome.

When a (re)started session is first connected, `Resume` hands its master's
pending files, oldest first, to the same off-thread worker: nothing here waits
on the network. Bounds (docs/conversations.md): at most PER_START files per
process start (the rest wait for the next start), and only files whose message
is younger than MAX_AGE_S; an older one is marked `failed` and leaves the index.
Saving is by sha256 and recording an outcome twice changes nothing, so a file
that was in fact saved just before the crash is simply recorded.
"""
from __future__ import annotations

import time
from collections.abc import Iterable

import structlog

from storage import conversations, media_pending
from storage.faults import StoreFull
from storage.media_pending import PendingMedia
from transports.events import Media

log = structlog.get_logger("media")
MAX_AGE_S = 3 * 24 * 3600.0   # a daemon down over a weekend still gets its customers' files
PER_START = 100               # one start hands the worker at most this many (it fetches one at a time)
RESUMABLE = ("pending", "failed, retrying")   # conversations/media.py record(): not final yet


def note(txn, master: str, handled: Iterable) -> None:
    """Index the files of a batch just stored `pending` (conversations/inbound.py: same transaction).

    A file whose transport gave no `ref` cannot be fetched by a later process: not indexed."""
    for h in handled:
        m = h.event.media if h.fetch else None
        if m is not None and m.ref:
            media_pending.add(txn, PendingMedia(master, h.customer, h.event.message_id, h.event.timestamp,
                                                m.ref, m.mime, m.size, m.seconds, m.file_name, m.sha256))


def due(txn, master: str, now: float, max_age_s: float = MAX_AGE_S,
        limit: int = PER_START) -> tuple[list[PendingMedia], list[PendingMedia]]:
    """(to fetch again, to drop) among the first `limit` index keys of `master`, oldest first.

    Dropped: too old, or its message is no longer waiting for its file (gone with a LID
    merge, or already final)."""
    fetch, drop = [], []
    for n, p in enumerate(media_pending.oldest(txn, master)):
        if n >= limit:
            break
        if now - p.ts > max_age_s or _state(txn, p) not in RESUMABLE:
            drop.append(p)
        else:
            fetch.append(p)
    return fetch, drop


def forget(txn, dropped: Iterable[PendingMedia]) -> None:
    """Take dropped files out of the index; a message still waiting for one is marked failed."""
    for p in dropped:
        def failed(msg):
            if msg.media_state in RESUMABLE:
                msg.media_state = "failed"
        conversations.update_message(txn, p.customer, p.message_id, failed)
        media_pending.remove(txn, p.master, p.ts, p.message_id)


def _state(txn, p: PendingMedia) -> str | None:
    for msg in conversations.messages(txn, p.customer):
        if msg.message_id == p.message_id:
            return msg.media_state
    return None


class Resume:
    """Called when the session is connected; does its work the first time only (per process)."""

    def __init__(self, store, master: str, fetcher, transport,
                 max_age_s: float = MAX_AGE_S, limit: int = PER_START):
        self.store, self.master, self.fetcher, self.transport = store, master, fetcher, transport
        self.max_age_s, self.limit = max_age_s, limit
        self.done = False

    def __call__(self, now: float | None = None) -> int:
        """Hand the pending files to the worker; how many were handed."""
        media_fetch = getattr(self.transport, "media_fetch", None)   # a transport without it: nothing to do
        if self.done or media_fetch is None:
            return 0
        self.done = True
        now = time.time() if now is None else now
        with self.store.read() as txn:
            fetch, drop = due(txn, self.master, now, self.max_age_s, self.limit)
        if drop:
            try:
                self.store.write(lambda txn: forget(txn, drop))
            except StoreFull as e:   # only tidying: the next start drops them
                log.warning("media_resume_drop_held", error=str(e), files=len(drop))
        for p in fetch:
            self.fetcher.submit(p.customer, p.message_id, Media(
                mime=p.mime, size=p.size, seconds=p.seconds, file_name=p.file_name, sha256=p.sha256,
                fetch=media_fetch(p.ref), ref=p.ref))
        if fetch or drop:
            log.info("media_resumed", fetching=len(fetch), dropped=len(drop))
        return len(fetch)
