"""Hours of the day written as "HH:MM-HH:MM" (office hours, campaign hours)."""
from __future__ import annotations

from datetime import time as clock


def parse_hours(spec: str) -> tuple[clock, clock]:
    """'09:00-18:00' → (09:00, 18:00); ValueError naming the expected form otherwise."""
    try:
        opening, closing = (clock.fromisoformat(p.strip()) for p in spec.split("-"))
    except ValueError:
        raise ValueError(f"hours {spec!r}: expected HH:MM-HH:MM, e.g. 09:00-18:00") from None
    if not opening < closing:
        raise ValueError(f"hours {spec!r}: they must open before they close")
    return opening, closing
