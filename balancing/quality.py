"""How evenly the masters share the load: the figure the replaced system reported.

quality = 100 − 2·σ, with σ the *population* standard deviation of the load
shares in percent (every master is counted; they are the whole population,
not a sample), clamped to 0..100. Two masters at 50/50 → 100; at 100/0 → 0.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping


def load_shares(counts: Mapping[str, int]) -> dict[str, float]:
    """Each master's share of the total in percent (summing to 100); all 0.0 when the total is 0."""
    total = sum(counts.values())
    if total <= 0:
        return {phone: 0.0 for phone in counts}
    return {phone: 100.0 * count / total for phone, count in counts.items()}


def balance_quality(load_shares: Iterable[float]) -> float:
    """100 − 2·(population stddev of the shares, in percent), clamped 0..100. No masters → 100."""
    shares = list(load_shares)
    if not shares:
        return 100.0
    mean = sum(shares) / len(shares)
    sigma = math.sqrt(sum((s - mean) ** 2 for s in shares) / len(shares))
    return min(100.0, max(0.0, 100.0 - 2.0 * sigma))
