"""Phone numbers in E.164: '+' then 8 to 15 digits, the first not 0."""
from __future__ import annotations

import re

EXPECTED = "+<country code><number>, e.g. +971501234567"
_SEPARATORS = re.compile(r"[\s\-().]")


class BadPhone(ValueError):
    def __init__(self, given: str, why: str):
        super().__init__(f"{given!r} is not a phone number ({why}); expected E.164: {EXPECTED}")
        self.given = given


def normalize(raw: str) -> str:
    """'+971 50-123 4567' or '00971501234567' → '+971501234567'; anything else → BadPhone."""
    if not isinstance(raw, str) or not raw.strip():
        raise BadPhone(str(raw), "empty")
    s = _SEPARATORS.sub("", raw.strip())
    if s.startswith("00"):
        s = "+" + s[2:]
    if not s.startswith("+"):
        raise BadPhone(raw, "no leading + or 00 with the country code")
    digits = s[1:]
    if not digits.isdigit():
        raise BadPhone(raw, "only digits may follow the +")
    if digits.startswith("0"):
        raise BadPhone(raw, "a country code never starts with 0")
    if not 8 <= len(digits) <= 15:
        raise BadPhone(raw, f"{len(digits)} digits; E.164 numbers have 8 to 15")
    return "+" + digits
