"""The durable outbox: every outbound message is written here before any send.

An entry leaves the outbox only when the transport acknowledged the send
(`delivered`), so a crash anywhere in between leaves it to be retried
(at-least-once). Its idempotency key is remembered after delivery, so the
same logical message enqueued twice is sent once.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Container
from dataclasses import dataclass, field

from storage import campaigns, outbox_lanes as lanes
from storage.codec import text, u64
from storage.env import Txn

KINDS = ("reply", "campaign", "alert", "handover", "manual", "lead", "relay")   # lead, relay: agents/notify.py
# What an idempotency key names: {"id": int, "state": "queued" | "delivered", ...}; checked on read
KeyRecord = dict[str, int | str | float | None]


@dataclass
class OutboxEntry:
    id: int
    key: str                  # idempotency key
    to: str
    text: str
    kind: str = "reply"
    via: str | None = None    # a master the sender insisted on
    master: str | None = None  # the master it is assigned to now
    state: str = "pending"    # pending | dead
    attempts: int = 0
    next_ts: float = 0.0
    last_error: str = ""
    created_ts: float = field(default_factory=time.time)
    campaign: str | None = None
    # a file sent with `text` as its caption: {"kind", "sha256", "mime", "file_name", "size"};
    # the bytes are stored once in the home (storage/outbound_media.py), never here
    media: dict[str, str | int] | None = None
    # the master whose session claimed it in the inbound transaction and sends it itself
    # (docs/balancer.md, "Replies from the receiving session"); the balancer never reads it then
    claimed_by: str | None = None


def enqueue(txn: Txn, to: str, body: str, kind: str = "reply", key: str | None = None,
            via: str | None = None, master: str | None = None,
            campaign: str | None = None, media: dict | None = None) -> tuple[OutboxEntry | dict, bool]:
    """Add an entry; returns (entry, True), or (what the key already names, False).

    For a key already delivered, the returned dict is its delivery record
    ({"id", "message_id", "master", "ts"}).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}; one of {', '.join(KINDS)}")
    key = key or uuid.uuid4().hex
    known = txn.get("outbox_keys", text(key), KeyRecord)
    if known is not None:
        entry = get(txn, known["id"]) if known.get("state") != "delivered" else None
        return (entry or known), False
    entry = OutboxEntry(id=txn.next_seq("outbox"), key=key, to=to, text=body, kind=kind,
                        via=via, master=master or via, campaign=campaign, media=media)
    put(txn, entry)
    txn.put("outbox_keys", text(key), {"id": entry.id, "state": "queued"})
    return entry, True


def get(txn: Txn, entry_id: int) -> OutboxEntry | None:
    return txn.get("outbox", u64(entry_id), OutboxEntry)


def put(txn: Txn, entry: OutboxEntry) -> None:
    """Write the entry; its lane index follows its state, and its claim (storage/outbox_lanes.py)."""
    txn.put("outbox", u64(entry.id), entry)
    if entry.state == "pending" and not entry.claimed_by:
        lanes.add(txn, entry.kind, entry.id)
    else:
        lanes.remove(txn, entry.kind, entry.id)
    if entry.claimed_by:
        lanes.claim(txn, entry.id)
    else:
        lanes.unclaim(txn, entry.id)


def claim(txn: Txn, entry: OutboxEntry, master: str) -> None:
    """`master`'s session sends this entry itself: out of the balancer's lanes, in this txn."""
    entry.master, entry.claimed_by = master, master
    put(txn, entry)


def release_claims(txn: Txn, master: str) -> list[int]:
    """A (re)started session's claims go back to the balancer: what it claimed and may have sent
    before a crash, but not marked delivered, is sent once more (at least once, as before)."""
    released = []
    for entry_id in lanes.claimed_ids(txn):
        entry = get(txn, entry_id)
        if entry is None:
            lanes.unclaim(txn, entry_id)
        elif entry.claimed_by == master:
            entry.claimed_by = None
            put(txn, entry)
            released.append(entry_id)
    return released


def all(txn: Txn) -> list[OutboxEntry]:  # noqa: A001
    return [e for _, e in txn.scan("outbox", OutboxEntry)]


def pending(txn: Txn, master: str | None = None, now: float | None = None,
            limit: int = 0, campaign_limit: int = 0, skip: Container[int] = ()) -> list[OutboxEntry]:
    """Pending entries due by `now` (all when None): lane by lane (replies and operators'
    sends, alerts, hand-over notes, campaigns; storage/outbox_lanes.py), oldest first in each.

    `limit` caps the entries of the lanes before the campaign's, `campaign_limit`
    the campaign's (0: no cap), so a big campaign is never read past its cap and
    cannot hide the replies queued after it. Ids in `skip` (the balancer's in flight)
    are passed over before their entry is even read, and do not count against a cap.
    """
    out = []
    for lane in lanes.LANES:
        cap = campaign_limit if lane == "campaign" else limit
        taken = 0
        for entry_id in lanes.ids(txn, lane):
            if entry_id in skip:
                continue
            e = get(txn, entry_id)
            if e is None or e.state != "pending" or (master is not None and e.master != master):
                continue
            if now is not None and e.next_ts > now:
                continue
            out.append(e)
            taken += 1
            if cap and taken >= cap:
                break
    return out


def depth(txn: Txn) -> int:
    return txn.count("outbox")


def delivered(txn: Txn, entry_id: int, message_id: str, master: str) -> OutboxEntry | None:
    """The transport acknowledged: the entry leaves the outbox, its key is remembered."""
    entry = get(txn, entry_id)
    if entry is None:
        return None
    txn.delete("outbox", u64(entry_id))
    lanes.remove(txn, entry.kind, entry_id)
    lanes.unclaim(txn, entry_id)
    if entry.campaign:
        campaigns.count(txn, entry.campaign, sent=1)
    txn.put("outbox_keys", text(entry.key), {"id": entry_id, "state": "delivered",
                                              "message_id": message_id, "master": master,
                                              "ts": time.time()})
    return entry


def failed(txn: Txn, entry_id: int, error: str, retry_at: float, max_attempts: int,
           final: bool = False) -> OutboxEntry | None:
    """A send failed: schedule a retry, or move to dead-letter after max_attempts
    (at once when `final`: a send that can never succeed)."""
    entry = get(txn, entry_id)
    if entry is None:
        return None
    entry.attempts += 1
    entry.last_error = error
    entry.claimed_by = None    # a claimed reply that failed is the balancer's to retry
    if final or entry.attempts >= max_attempts:
        entry.state = "dead"
        if entry.campaign:
            campaigns.count(txn, entry.campaign, dead=1)
    else:
        entry.next_ts = retry_at
    put(txn, entry)
    return entry


def retry(txn: Txn, entry_id: int) -> OutboxEntry | None:
    """Bring a dead entry back to pending with a fresh attempt count."""
    entry = get(txn, entry_id)
    if entry is None:
        return None
    if entry.campaign and entry.state == "dead":
        campaigns.count(txn, entry.campaign, dead=-1)
    entry.state, entry.attempts, entry.next_ts = "pending", 0, 0.0
    put(txn, entry)
    return entry


def retarget(txn: Txn, moves: dict[str, str], from_master: str, only_moved: bool = False) -> int:
    """Move `from_master`'s pending entries to each customer's new master.

    An entry whose customer is not in `moves` loses its master (the balancer
    picks one by strategy), unless `only_moved` keeps it where it is.
    """
    n = 0
    for _, e in txn.scan("outbox", OutboxEntry):
        if e.master == from_master and e.state == "pending" and e.via is None:
            if only_moved and e.to not in moves:
                continue
            e.master, e.claimed_by = moves.get(e.to), None   # a claim dies with its master's turn
            put(txn, e)
            n += 1
    return n


def key_record(txn: Txn, key: str) -> dict | None:
    """What an idempotency key names: {"id", "state": queued|delivered, ...}, or None."""
    return txn.get("outbox_keys", text(key), KeyRecord)


def key_records(txn: Txn, prefix: str) -> list[dict]:
    """The key records whose keys start with `prefix` (a campaign's: "campaign:NAME:")."""
    return [v for _, v in txn.scan("outbox_keys", KeyRecord, prefix=text(prefix))]
