"""Admin phone numbers: the WhatsApp sender number is the identity."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from storage.codec import text
from storage.env import Txn


@dataclass
class Admin:
    phone: str
    added_ts: float = field(default_factory=time.time)


def add(txn: Txn, phone: str) -> bool:
    return txn.put("admins", text(phone), Admin(phone), overwrite=False)


def remove(txn: Txn, phone: str) -> bool:
    return txn.delete("admins", text(phone))


def is_admin(txn: Txn, phone: str) -> bool:
    return txn.get("admins", text(phone), Admin) is not None


def all(txn: Txn) -> list[Admin]:  # noqa: A001
    return [a for _, a in txn.scan("admins", Admin)]
