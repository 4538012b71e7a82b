"""Replies to customer messages that are not commands: a welcome, once per
conversation, and an after-hours note outside office hours. Both are off
unless their text is set in config.toml ([chat] welcome, after_hours)."""
from __future__ import annotations

from datetime import datetime, time as clock
from zoneinfo import ZoneInfo

from storage import conversations


def office_hours(spec: str) -> tuple[clock, clock]:
    """'09:00-18:00' → (09:00, 18:00); ValueError naming the expected form otherwise."""
    try:
        opening, closing = (clock.fromisoformat(p.strip()) for p in spec.split("-"))
    except ValueError:
        raise ValueError(f"office hours {spec!r}: expected HH:MM-HH:MM, e.g. 09:00-18:00") from None
    if not opening < closing:
        raise ValueError(f"office hours {spec!r}: they must open before they close")
    return opening, closing


def is_open(ts: float, spec: str, timezone: str) -> bool:
    opening, closing = office_hours(spec)
    local = datetime.fromtimestamp(ts, ZoneInfo(timezone)).time()
    return opening <= local < closing


def auto_replies(txn, conv: conversations.Conversation, chat, ts: float) -> list[str]:
    """What to answer a customer's plain message, marking the conversation welcomed."""
    out = []
    if chat.welcome and not conv.welcomed:
        conv.welcomed = True
        conversations.put(txn, conv)
        out.append(chat.welcome)
    if chat.after_hours and not is_open(ts, chat.office_hours, chat.timezone):
        out.append(chat.after_hours)
    return out
