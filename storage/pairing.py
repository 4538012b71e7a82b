"""A master's latest pairing outcome: the QR data or phone code to show, or why it failed.

Written by the session while it pairs; read by the gateway (and so the CLI)
to tell the person at the phone what to do.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from storage.codec import text
from storage.env import Txn

KINDS = ("qr", "code", "failed")


@dataclass
class Pairing:
    phone: str
    kind: str            # qr | code | failed
    value: str           # the QR data, the code, or the reason it failed
    ts: float = field(default_factory=time.time)


def put(txn: Txn, phone: str, kind: str, value: str, ts: float | None = None) -> None:
    if kind not in KINDS:
        raise ValueError(f"pairing kind must be one of {KINDS}, not {kind!r}")
    txn.put("pairing", text(phone), Pairing(phone, kind, value, time.time() if ts is None else ts))


def get(txn: Txn, phone: str) -> Pairing | None:
    return txn.get("pairing", text(phone), Pairing)
