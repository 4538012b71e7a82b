"""Health reports: uptime and MTTR from a master's state changes, the overall
score and grade the replaced system defined, and a bounded, downsampled history
of numeric samples (queue depth, messages per interval, ...).

State changes are (ts, state) pairs: the state holds from ts until the next
change (the last one until `now`). For uptime, healthy and degraded count as
up (degraded still serves), failed as down, unknown not at all (no data).
"""
from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from health.policy import DEGRADED, FAILED, HEALTHY

UP_STATES = frozenset({HEALTHY, DEGRADED})
GRADES = (("EXCELLENT", 90.0), ("GOOD", 75.0), ("WARNING", 50.0))   # else CRITICAL


def _spans(changes: Iterable[tuple[float, str]], window_s: float, now: float):
    """(start, end, state) spans of the changes, clipped to [now − window_s, now]."""
    ordered = sorted(changes, key=lambda c: c[0])
    begin = now - window_s
    for i, (ts, state) in enumerate(ordered):
        end = ordered[i + 1][0] if i + 1 < len(ordered) else now
        start, end = max(ts, begin), min(end, now)
        if end > start:
            yield start, end, state


def uptime_pct(changes: Iterable[tuple[float, str]], window_s: float, now: float) -> float | None:
    """Percent of the observed time in the window that was up; None if nothing was observed."""
    up = down = 0.0
    for start, end, state in _spans(changes, window_s, now):
        if state in UP_STATES:
            up += end - start
        elif state == FAILED:
            down += end - start
    if up + down == 0:
        return None
    return 100.0 * up / (up + down)


def mttr_s(changes: Iterable[tuple[float, str]], window_s: float, now: float) -> float | None:
    """Mean time to repair: the mean length of failed periods that ended (back up) in the
    window, counted whole even if they began before it. None if none ended there."""
    ordered = sorted(changes, key=lambda c: c[0])
    durations, failed_since = [], None
    for ts, state in ordered:
        if state == FAILED and failed_since is None:
            failed_since = ts
        elif state in UP_STATES and failed_since is not None:
            if now - window_s <= ts <= now:
                durations.append(ts - failed_since)
            failed_since = None
    return sum(durations) / len(durations) if durations else None


def trim_changes(changes: Iterable[tuple[float, str]], keep_s: float, now: float) -> list[tuple[float, str]]:
    """Drop changes older than `keep_s`, keeping the state in force at the cut (re-stamped there),
    so uptime over any window up to `keep_s` is unchanged and the list stays bounded."""
    cut = now - keep_s
    ordered = sorted(changes, key=lambda c: c[0])
    before = [c for c in ordered if c[0] < cut]
    kept = [c for c in ordered if c[0] >= cut]
    if before and not (kept and kept[0][0] == cut):
        kept.insert(0, (cut, before[-1][1]))
    return kept


def score(failed: int, degraded: int, balance_quality: float, failed_failover_pct: float) -> float:
    """100 − 20·failed − 5·degraded − 0.3·(100 − quality) − 0.5·failed-failover %, clamped 0..100."""
    raw = (100.0 - 20.0 * failed - 5.0 * degraded
           - 0.3 * (100.0 - balance_quality) - 0.5 * failed_failover_pct)
    return min(100.0, max(0.0, raw))


def grade(value: float) -> str:
    """EXCELLENT ≥ 90, GOOD ≥ 75, WARNING ≥ 50, else CRITICAL."""
    for name, floor in GRADES:
        if value >= floor:
            return name
    return "CRITICAL"


@dataclass
class Bucket:
    """Samples aggregated over [start, start + the history's bucket_s)."""
    start: float
    count: int
    total: float
    low: float
    high: float
    last: float

    @property
    def mean(self) -> float:
        return self.total / self.count

    def merge(self, other: "Bucket") -> None:
        self.count += other.count
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)
        if other.start >= self.start:
            self.last = other.last


class HealthHistory:
    """Numeric samples kept in at most `capacity` buckets.

    Samples fall into buckets of `bucket_s`; when there are more than
    `capacity`, the bucket width doubles and neighbours merge: the whole span
    stays covered, older detail is traded for a bounded size (count, mean,
    min, max and last survive every merge).
    """

    def __init__(self, capacity: int = 512, bucket_s: float = 1.0) -> None:
        if capacity < 2 or not bucket_s > 0:
            raise ValueError("need capacity >= 2 and bucket_s > 0")
        self.capacity = capacity
        self.bucket_s = bucket_s
        self.buckets: list[Bucket] = []

    def add(self, ts: float, value: float) -> None:
        start = math.floor(ts / self.bucket_s) * self.bucket_s
        sample = Bucket(start, 1, float(value), float(value), float(value), float(value))
        if not self.buckets or start > self.buckets[-1].start:
            self.buckets.append(sample)          # the usual case: samples arrive in order
        else:
            i = bisect.bisect_left([b.start for b in self.buckets], start)
            if self.buckets[i].start == start:
                self.buckets[i].merge(sample)
            else:
                self.buckets.insert(i, sample)
        while len(self.buckets) > self.capacity:
            self._coarsen()

    def _coarsen(self) -> None:
        self.bucket_s *= 2
        merged: list[Bucket] = []
        for bucket in self.buckets:
            start = math.floor(bucket.start / self.bucket_s) * self.bucket_s
            if merged and merged[-1].start == start:
                merged[-1].merge(bucket)
            else:
                bucket.start = start
                merged.append(bucket)
        self.buckets = merged

    def to_dict(self) -> dict:
        return {"capacity": self.capacity, "bucket_s": self.bucket_s,
                "buckets": [asdict(b) for b in self.buckets]}

    @classmethod
    def from_dict(cls, data: dict) -> "HealthHistory":
        history = cls(int(data["capacity"]), float(data["bucket_s"]))
        history.buckets = [Bucket(**b) for b in data.get("buckets", [])]
        return history
