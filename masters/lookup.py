"""Finding a registered master by phone, with an error that lists the others."""
from __future__ import annotations

from commands.registry import CommandError
from runtime.phone import normalize
from storage import masters


def known_master(txn, phone: str) -> masters.Master:
    phone = normalize(phone)
    record = masters.get(txn, phone)
    if record is None:
        known = [m.phone for m in masters.all(txn)]
        listing = ", ".join(known) if known else "none registered yet (whitecaves master add)"
        raise CommandError(f"unknown master {phone}; registered masters: {listing}")
    return record
