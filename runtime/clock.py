"""Hours of the day written as "HH:MM-HH:MM" (office hours, campaign hours)."""
from __future__ import annotations

import re
from datetime import time as clock

HOURS = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")
EXPECTED = "HH:MM-HH:MM, 00:00 to 23:59, opening before closing, e.g. 09:00-18:00"


def parse_hours(spec: str) -> tuple[clock, clock]:
    """'09:00-18:00' → (09:00, 18:00); ValueError naming the expected form otherwise."""
    m = HOURS.fullmatch(spec.strip()) if isinstance(spec, str) else None
    if not m or (m[1], m[2]) >= (m[3], m[4]):
        raise ValueError(f"hours {spec!r}: expected {EXPECTED}")
    return clock(int(m[1]), int(m[2])), clock(int(m[3]), int(m[4]))
