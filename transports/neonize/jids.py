"""Reading neonize's JID and time fields (no neonize import: these are plain protobuf reads).

A JID is WhatsApp's address: `User@Server`, where Server is "s.whatsapp.net" for a
phone number and "lid" for a LID (the hidden-number id WhatsApp gives people who
keep their number private).
"""
from __future__ import annotations

from runtime.phone import BadPhone, normalize

PHONE_SERVER = "s.whatsapp.net"
LID_SERVER = "lid"
ONE_TO_ONE_SERVERS = ("", PHONE_SERVER, LID_SERVER)  # "" = chat not given: judge by sender

# Timestamps above this are milliseconds (1e11 s is the year 5138).
_MS_THRESHOLD = 100_000_000_000


def jid_string(jid) -> str:
    """'971501234567:12@s.whatsapp.net' (device part only when there is one)."""
    user = f"{jid.User}:{jid.Device}" if jid.Device else jid.User
    return f"{user}@{jid.Server}" if jid.Server else user


def phone_of_jid(jid) -> str:
    """'+971501234567' for a phone-number JID, '' for anything else (LID, group, empty)."""
    if jid.Server != PHONE_SERVER:
        return ""
    try:   # ASCII digits only: the one phone key (runtime/phone.py)
        return normalize("+" + jid.User)
    except BadPhone:
        return ""


def lid_of_jid(jid) -> str:
    """'123456789012345@lid' for a LID JID (without its device), '' for anything else."""
    if jid.Server == LID_SERVER and jid.User.isdigit():
        return f"{jid.User}@{LID_SERVER}"
    return ""


def first(read, *jids) -> str:
    """The first non-empty `read(jid)` among `jids`."""
    for jid in jids:
        value = read(jid)
        if value:
            return value
    return ""


def seconds(stamp: int) -> float:
    """goneonize stamps messages in milliseconds and receipts in seconds: both → seconds."""
    return stamp / 1000.0 if stamp >= _MS_THRESHOLD else float(stamp)
