"""Replies to customer messages that are not commands: a welcome, once per
conversation, and an after-hours note outside office hours. Both are off
unless their text is set in config.toml ([chat] welcome, after_hours)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from runtime.clock import parse_hours
from storage import conversations


def is_open(ts: float, spec: str, timezone: str) -> bool:
    opening, closing = parse_hours(spec)
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
