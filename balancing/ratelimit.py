"""Per-master sending limits, so that no account gets banned for sending like a bot.

Defaults are the replaced system's (docs/architecture.md, "Facts about the parts"). Two kinds of traffic:

- campaign: at most `campaign_per_day` per local day (in `timezone`), only
  between `campaign_hours`, a random `gap_min_s`..`gap_max_s` between two
  campaign sends and `pause_s` after every `pause_every`-th of the day.
- everything else (reply, alert, handover, direct): no daily cap and no
  hours — a customer who writes at night gets an answer — only spacing.

Spacing for every kind: `reply_gap_s` between two sends to the same contact,
and `min_gap_s` between any two sends of the master (a floor against bursts;
our choice, the replaced system had none).

`check` never changes anything and `record` never refuses: the actor asks,
waits the answer, sends, then records what was sent. The random gap is drawn
in `record`, so `check` answers the same until the next `record`.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

CAMPAIGN = "campaign"
KINDS = ("campaign", "reply", "alert", "handover", "direct")


@dataclass(frozen=True)
class Limits:
    campaign_per_day: int = 45
    gap_min_s: float = 3.0
    gap_max_s: float = 5.0
    pause_every: int = 5          # 0 = never pause
    pause_s: float = 60.0
    campaign_hours: tuple[str, str] = ("08:00", "18:00")   # [open, close), local time, open < close
    timezone: str = "Asia/Dubai"
    reply_gap_s: float = 1.0
    min_gap_s: float = 0.2
    enabled: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "campaign_hours", tuple(self.campaign_hours))
        opening, closing = self.hours()
        if not opening < closing:
            raise ValueError(f"campaign_hours must open before they close: {self.campaign_hours}")
        if self.campaign_per_day < 0 or self.pause_every < 0:
            raise ValueError("campaign_per_day and pause_every must be >= 0")
        if not 0 <= self.gap_min_s <= self.gap_max_s:
            raise ValueError("need 0 <= gap_min_s <= gap_max_s")
        if min(self.pause_s, self.reply_gap_s, self.min_gap_s) < 0:
            raise ValueError("pause_s, reply_gap_s and min_gap_s must be >= 0")
        ZoneInfo(self.timezone)   # raises for an unknown zone

    def hours(self) -> tuple[time, time]:
        opening, closing = self.campaign_hours
        return time.fromisoformat(opening), time.fromisoformat(closing)


class RateLimiter:
    """The limits of one master and what it has sent. State: `to_dict`/`from_dict`."""

    def __init__(self, limits: Limits = Limits(), rng: random.Random | None = None) -> None:
        self.limits = limits
        self._zone = ZoneInfo(limits.timezone)
        self._open, self._close = limits.hours()
        self._rng = rng or random.Random()
        self.day = ""                   # local date (ISO) that campaign_count counts
        self.campaign_count = 0
        self.next_campaign_at = 0.0     # earliest next campaign send (gap or pause)
        self.last_send_at: float | None = None
        self.last_to: dict[str, float] = {}   # contact → last send, only within reply_gap_s

    def check(self, kind: str, to: str, now: float) -> float:
        """Seconds to wait before sending `kind` to `to` (0.0 = now; math.inf = never)."""
        _check_kind(kind)
        if not self.limits.enabled:
            return 0.0
        earliest = now
        if self.last_send_at is not None:
            earliest = max(earliest, self.last_send_at + self.limits.min_gap_s)
        if to in self.last_to:
            earliest = max(earliest, self.last_to[to] + self.limits.reply_gap_s)
        if kind == CAMPAIGN:
            if self.limits.campaign_per_day == 0:
                return math.inf
            earliest = self._campaign_slot(max(earliest, self.next_campaign_at))
        return max(0.0, earliest - now)

    def record(self, kind: str, to: str, now: float) -> None:
        """Note a send that happened at `now`."""
        _check_kind(kind)
        if not self.limits.enabled:
            return
        if kind == CAMPAIGN:
            count = self.campaign_sent_today(now) + 1
            self.day = self._local(now).date().isoformat()
            self.campaign_count = count
            gap = self._rng.uniform(self.limits.gap_min_s, self.limits.gap_max_s)
            if self.limits.pause_every and count % self.limits.pause_every == 0:
                gap = max(gap, self.limits.pause_s)
            self.next_campaign_at = max(self.next_campaign_at, now + gap)
        self.last_send_at = now if self.last_send_at is None else max(self.last_send_at, now)
        self.last_to[to] = max(now, self.last_to.get(to, now))
        # Entries past the per-contact gap no longer matter: keeps the state small.
        self.last_to = {c: t for c, t in self.last_to.items() if now - t < self.limits.reply_gap_s}

    def campaign_sent_today(self, now: float) -> int:
        """Campaign sends counted on `now`'s local day."""
        return self.campaign_count if self._local(now).date().isoformat() == self.day else 0

    def remaining_today(self, now: float) -> int:
        return max(0, self.limits.campaign_per_day - self.campaign_sent_today(now))

    def to_dict(self) -> dict:
        return {"day": self.day, "campaign_count": self.campaign_count,
                "next_campaign_at": self.next_campaign_at, "last_send_at": self.last_send_at,
                "last_to": dict(self.last_to)}

    @classmethod
    def from_dict(cls, data: dict, limits: Limits = Limits(),
                  rng: random.Random | None = None) -> "RateLimiter":
        limiter = cls(limits, rng)
        limiter.day = str(data.get("day", ""))
        limiter.campaign_count = int(data.get("campaign_count", 0))
        limiter.next_campaign_at = float(data.get("next_campaign_at", 0.0))
        last = data.get("last_send_at")
        limiter.last_send_at = None if last is None else float(last)
        limiter.last_to = {str(c): float(t) for c, t in data.get("last_to", {}).items()}
        return limiter

    def _local(self, ts: float) -> datetime:
        return datetime.fromtimestamp(ts, self._zone)

    def _opening(self, day: date) -> float:
        return datetime.combine(day, self._open, tzinfo=self._zone).timestamp()

    def _campaign_slot(self, t: float) -> float:
        """The first time >= t inside the campaign hours of a day with room under the cap."""
        for _ in range(4):   # at most: later today, then tomorrow's opening
            local = self._local(t)
            sent = self.campaign_count if local.date().isoformat() == self.day else 0
            if sent >= self.limits.campaign_per_day or local.time() >= self._close:
                t = max(t, self._opening(local.date() + timedelta(days=1)))
            elif local.time() < self._open:
                t = max(t, self._opening(local.date()))
            else:
                return t
        return t


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; valid: {', '.join(KINDS)}")


def limits_from_config(section) -> Limits:
    """`[limits]` of config.toml (runtime.config.Limits) → Limits; hours are "HH:MM-HH:MM"."""
    opening, _, closing = str(section.campaign_hours).partition("-")
    return Limits(campaign_per_day=section.campaign_per_day, gap_min_s=section.gap_min_s,
                  gap_max_s=section.gap_max_s, pause_every=section.pause_every,
                  pause_s=section.pause_s, campaign_hours=(opening.strip(), closing.strip()),
                  timezone=section.timezone, reply_gap_s=section.reply_gap_s,
                  enabled=section.enabled)
