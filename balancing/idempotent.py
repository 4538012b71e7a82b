"""Idempotency keys of `send`: what a request's answer says about its message.

A request that timed out may still have queued its message; retried with the
same key (`whitecaves send --key KEY`) it is never sent twice — the outbox
remembers each key, delivered or not (storage/outbox.py) — and the answer says
which state the first request left it in: queued, sent or dead.
"""
from __future__ import annotations

import uuid

from commands.registry import CommandError
from storage import outbox

MAX_KEY = 200


def send_key(key) -> str:
    """The caller's key (checked), or a fresh one the answer names so a retry can pass it."""
    if key is None or key == "":
        return "send:" + uuid.uuid4().hex
    key = str(key).strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise CommandError(f"an idempotency key is 1 to {MAX_KEY} printable characters", code=2)
    if key.startswith(("campaign:", "alert:", "chat:")):
        raise CommandError("keys starting with campaign:, alert: or chat: are the daemon's own", code=2)
    return key


def queued(entry_id: int, key: str) -> dict:
    return {"id": entry_id, "key": key, "state": "queued", "again": False}


def known_state(key: str, known, to: str, body: str) -> dict:
    """The answer to a retry: what the key's first request became. A key reused for
    another message is refused (it would silently drop that message)."""
    if isinstance(known, outbox.OutboxEntry):
        if (known.to, known.text) != (to, body):
            raise CommandError(f"key {key!r} was used for another message (to {known.to}); "
                               f"use a new key for a new message", code=2)
        state = "dead" if known.state == "dead" else "queued"
        return {"id": known.id, "key": key, "state": state, "master": known.master, "again": True,
                "last_error": known.last_error}
    # delivered: the entry left the outbox, its key record remains
    state = "sent" if known.get("state") == "delivered" else "unknown"
    return {"id": known.get("id"), "key": key, "state": state, "master": known.get("master"), "again": True}
