"""Replies to customer messages that are not commands: a welcome, once per
conversation, and an after-hours note outside office hours, once per closed
period. Both are off unless their text is set in config.toml ([chat] welcome,
after_hours). When the bot may send them at all (a person answering, the
hourly budget, a backlog) is conversations/quiet.py's question."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from runtime.clock import parse_hours
from storage import conversations


def is_open(ts: float, spec: str, timezone: str) -> bool:
    opening, closing = parse_hours(spec)
    local = datetime.fromtimestamp(ts, ZoneInfo(timezone)).time()
    return opening <= local < closing


def closed_period(ts: float, spec: str, timezone: str) -> str:
    """The closed period `ts` falls in, named by the local date it began ('' when open).

    After closing on day D and before opening on D+1 are the same period, "D"."""
    opening, _ = parse_hours(spec)
    if is_open(ts, spec, timezone):
        return ""
    local = datetime.fromtimestamp(ts, ZoneInfo(timezone))
    day = local.date() - timedelta(days=1) if local.time() < opening else local.date()
    return day.isoformat()


def auto_replies(txn, conv: conversations.Conversation, chat, now: float) -> list[str]:
    """What to answer a customer's plain message, marking the conversation welcomed.

    After-hours is judged by `now` (not the message's own time: a backlog written
    at night is not answered "we are closed" at noon) and sent once per closed period."""
    out = []
    if chat.welcome and not conv.welcomed:
        conv.welcomed = True
        conversations.put(txn, conv)
        out.append(chat.welcome)
    period = closed_period(now, chat.office_hours, chat.timezone) if chat.after_hours else ""
    if period and conv.after_hours_period != period:
        conv.after_hours_period = period
        conversations.put(txn, conv)
        out.append(chat.after_hours)
    return out
