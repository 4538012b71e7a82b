"""How much work one dispatch of the balancer may do: in proportion to what it can hand out.

The balancer dispatches whenever sessions report finished sends (actors/balancer.py). A pass
that read the outbox's whole head (2,000 replies, 500 campaign entries, each decoded and
checked against its type, docs/architecture.md "Storage") for every report cost tens of
milliseconds, so at 5,000 campaign contacts each report freed one slot, each pass filled it,
and delivery fell to ~20 msg/s (bench/outbox.py). Here a pass reads about twice the free room
in the masters' windows (entries in flight are skipped before they are read), and the
masters' conversation counts, a scan of every conversation, are recounted less often the
longer that scan takes.
"""
from __future__ import annotations

from collections.abc import Iterable

LANE_READ_MAX = 2000        # replies, alerts or hand-over notes read in one pass, at most
CAMPAIGN_READ_MAX = 500     # campaign entries read in one pass, at most
VIEWS_TTL_S = 1.0           # conversation counts are recounted at most this often ...
VIEWS_COST_SHARE = 0.05     # ... and at most this share of the balancer's time


def free_slots(in_flight_masters: Iterable[str], usable: Iterable[str], window: int) -> int:
    """Entries the usable masters can still take: `window` each, less what they have in flight."""
    load: dict[str, int] = {}
    for master in in_flight_masters:
        load[master] = load.get(master, 0) + 1
    return sum(max(0, window - load.get(phone, 0)) for phone in usable)


def read_caps(free: int, masters: int, window: int) -> dict[str, int]:
    """outbox.pending's caps for one pass: twice the free room (entries held for an owner or a
    limit are read past), never under one window, at least a window per master for the lanes
    before the campaign's (each reply is its owner's: one busy owner must not hide another's)."""
    lanes = min(LANE_READ_MAX, max(window * max(masters, 1), 2 * free))
    return {"limit": lanes, "campaign_limit": min(CAMPAIGN_READ_MAX, max(window, 2 * free))}


def views_ttl(recount_s: float) -> float:
    """Seconds until the next recount of conversation counts, given what the last one took."""
    return max(VIEWS_TTL_S, recount_s / VIEWS_COST_SHARE)
