"""What each key of config.toml may MEAN: ranges, formats, enums, placeholders.

`runtime/config.py` checks the TYPE of every key; this module checks that a
value of the right type is also usable, so a bad config stops `daemon start`
(and `whitecaves config check`) with one line instead of crashing an actor
later. Each key has one constraint in `RULES`; `CROSS` holds the rules that
relate two keys. A constraint is a plain function that returns None when the
value is fine, or a phrase saying what is allowed.
"""
from __future__ import annotations

import ipaddress
import math
import re
import string
from typing import Callable, Iterable

from runtime.clock import EXPECTED, parse_hours
from runtime.vocabulary import LEAD_STRATEGIES, NOTE_MODES, STRATEGIES

Check = Callable[[object], "str | None"]

DAY_S = 86400.0
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
# The placeholders actors/balancer/failover.py note_text() fills in a failover note.
NOTE_PLACEHOLDERS = ("name", "phone")


# --- constraints -----------------------------------------------------------

def seconds(lo: float, hi: float, lo_open: bool = True) -> Check:
    """A finite number of seconds in (lo, hi] (or [lo, hi] with lo_open=False)."""
    def check(v):
        ok = math.isfinite(v) and (v > lo if lo_open else v >= lo) and v <= hi
        return None if ok else f"a number of seconds {'>' if lo_open else '>='} {lo:g} and <= {hi:g}"
    return check


def fraction(v) -> str | None:
    return None if math.isfinite(v) and 0 <= v <= 1 else "a number from 0 to 1"


def count(lo: int, hi: int) -> Check:
    def check(v):
        return None if lo <= v <= hi else f"a whole number from {lo} to {hi}"
    return check


def port(v) -> str | None:
    return None if 0 <= v <= 65535 else "a port from 0 to 65535 (0 = off or automatic)"


def ip_address(v) -> str | None:
    try:
        ipaddress.ip_address(v)
        return None
    except ValueError:
        return "an IP address, e.g. 127.0.0.1 or ::1"


def timezone(v) -> str | None:
    from zoneinfo import ZoneInfo
    try:
        ZoneInfo(v)
        return None
    except Exception:   # ZoneInfoNotFoundError, ValueError (a path), OSError (a directory): all "unknown"
        return "an IANA time zone, e.g. Asia/Dubai or UTC"


def hours(v) -> str | None:
    try:
        parse_hours(v)
        return None
    except ValueError:
        return EXPECTED


def one_of(words: Iterable[str]) -> Check:
    words = tuple(words)
    def check(v):
        return None if v in words else f"one of {', '.join(words)}"
    return check


def template(allowed: tuple[str, ...]) -> Check:
    """Text whose {placeholders} are only `allowed` ones ({{ and }} are literal braces)."""
    def check(v):
        try:
            used = {f for _, f, spec, conv in string.Formatter().parse(v) if f is not None}
        except ValueError:
            used = None
        if used is None or not used <= set(allowed):
            return ("text whose only placeholders are " + ", ".join("{%s}" % a for a in allowed)
                    + " (write {{ and }} for a literal brace)")
        return None
    return check


def text(max_len: int) -> Check:
    def check(v):
        return None if len(v) <= max_len and "\x00" not in v else f"text of at most {max_len} characters"
    return check


def dsn(v) -> str | None:
    ok = v == "" or v.startswith(("postgres://", "postgresql://"))
    return None if ok else "empty (sqlite files) or a Postgres DSN postgres://..."


def percent(v) -> str | None:
    return None if math.isfinite(v) and 0 <= v <= 100 else "a percentage from 0 to 100"


def currency(v) -> str | None:
    ok = len(v) == 3 and v.isascii() and v.isalpha() and v.isupper()
    return None if ok else 'a 3-letter ISO 4217 code, e.g. "AED"'


def anything(v) -> None:
    return None


# --- the table: (section, key) -> constraint ------------------------------

RULES: dict[tuple[str, str], Check] = {
    ("daemon", "bind"): ip_address,
    ("daemon", "start_timeout_s"): seconds(0, 3600),
    ("daemon", "stop_timeout_s"): seconds(0, 3600),
    ("health", "heartbeat_s"): seconds(0, 3600),
    ("health", "degraded_after"): count(1, 1000),
    ("health", "failed_after"): count(1, 1000),
    ("health", "max_recovery_attempts"): count(0, 1000),
    ("backoff", "min_s"): seconds(0, DAY_S),
    ("backoff", "max_s"): seconds(0, DAY_S),
    ("backoff", "jitter"): fraction,
    ("backoff", "reset_after_s"): seconds(0, DAY_S, lo_open=False),
    ("supervisor", "intensity"): count(0, 1_000_000),
    ("supervisor", "period_s"): seconds(0, DAY_S),
    ("supervisor", "masters_intensity"): count(0, 1_000_000),
    ("supervisor", "masters_period_s"): seconds(0, DAY_S),
    ("limits", "enabled"): anything,
    ("limits", "campaign_per_day"): count(0, 1_000_000),
    ("limits", "gap_min_s"): seconds(0, DAY_S, lo_open=False),
    ("limits", "gap_max_s"): seconds(0, DAY_S, lo_open=False),
    ("limits", "pause_every"): count(0, 1_000_000),
    ("limits", "pause_s"): seconds(0, DAY_S, lo_open=False),
    ("limits", "campaign_hours"): hours,
    ("limits", "timezone"): timezone,
    ("limits", "reply_gap_s"): seconds(0, DAY_S, lo_open=False),
    ("session", "replaced_wait_s"): seconds(0, DAY_S),
    ("session", "pairing_timeout_s"): seconds(0, DAY_S),
    ("session", "send_timeout_s"): seconds(0, DAY_S),
    ("session", "replace_forgiven_s"): seconds(0, DAY_S, lo_open=False),
    ("session", "backlog_max_age_s"): seconds(0, 30 * DAY_S),
    ("session", "media_max_bytes"): count(1, 1 << 31),
    ("session", "typing_per_char_s"): seconds(0, 60, lo_open=False),
    ("session", "typing_min_s"): seconds(0, 60, lo_open=False),
    ("session", "typing_max_s"): seconds(0, 60, lo_open=False),
    ("session", "read_receipts"): anything,
    ("session", "reconnect_grace_s"): seconds(0, 3600, lo_open=False),
    ("outbox", "max_attempts"): count(1, 1000),
    ("outbox", "retry_min_s"): seconds(0, DAY_S),
    ("outbox", "retry_max_s"): seconds(0, DAY_S),
    ("failover", "strategy"): one_of(STRATEGIES),
    ("failover", "note"): template(NOTE_PLACEHOLDERS),
    ("failover", "note_mode"): one_of(NOTE_MODES),
    ("failover", "lock_timeout_s"): seconds(0, DAY_S),
    ("failover", "max_per_window"): count(1, 1_000_000),
    ("failover", "window_s"): seconds(0, 7 * DAY_S),
    ("failover", "restore_batch"): count(1, 1_000_000),
    ("failover", "restore_step_s"): seconds(0, DAY_S),
    ("failover", "grace_s"): seconds(0, 3600, lo_open=False),
    ("alerts", "repeat_s"): seconds(0, 7 * DAY_S, lo_open=False),
    ("alerts", "queue_warning"): count(1, 1 << 40),
    ("alerts", "queue_critical"): count(1, 1 << 40),
    ("metrics", "port"): port,
    ("sim", "port"): port,
    ("sim", "keepalive_s"): seconds(0, 3600),
    ("chat", "welcome"): text(4096),
    ("chat", "after_hours"): text(4096),
    ("chat", "office_hours"): hours,
    ("chat", "timezone"): timezone,
    ("chat", "human_mute_s"): seconds(0, 30 * DAY_S, lo_open=False),
    ("chat", "auto_reply_budget"): count(0, 1000),
    ("logging", "level"): one_of(LOG_LEVELS),
    ("logging", "max_bytes"): count(1, 1 << 40),
    ("logging", "backups"): count(0, 1000),
    ("neonize", "database"): dsn,
    ("commission", "vat_pct"): percent,
    ("commission", "currency"): currency,
    ("leads", "strategy"): one_of(LEAD_STRATEGIES),
    ("leads", "accept_timeout_s"): seconds(1, 7 * DAY_S, lo_open=False),
    ("leads", "protection_days"): count(0, 3650),
}

# (section, first key, second key, what must hold): first must be below (or at most) second.
CROSS: list[tuple[str, str, str, bool]] = [
    # (section, a, b, strict): a < b if strict else a <= b
    ("health", "degraded_after", "failed_after", True),
    ("backoff", "min_s", "max_s", False),
    ("limits", "gap_min_s", "gap_max_s", False),
    ("outbox", "retry_min_s", "retry_max_s", False),
    ("alerts", "queue_warning", "queue_critical", False),
]


def problems(cfg) -> Iterable[str]:
    """Every broken rule of a type-checked Config, as 'section.key = value: must be ...'."""
    for (section, key), check in RULES.items():
        value = getattr(getattr(cfg, section), key)
        allowed = check(value)
        if allowed:
            yield f"{section}.{key} = {value!r}: must be {allowed}"
    for section, a, b, strict in CROSS:
        sec = getattr(cfg, section)
        va, vb = getattr(sec, a), getattr(sec, b)
        if not (va < vb if strict else va <= vb):
            yield (f"{section}.{a} = {va!r} and {section}.{b} = {vb!r}: "
                   f"{a} must be {'below' if strict else 'at most'} {b}")
