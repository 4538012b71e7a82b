"""Phone numbers in E.164: '+' then 8 to 15 ASCII digits, the first not 0.

A number is a key (of a master, a conversation, an admin), so one number must
have one spelling: digits of other scripts (Arabic-Indic ٩٧١, full-width ９７１,
any Unicode decimal digit) are folded to ASCII, so '+٩٧١٥٠…' and '+97150…' are
the same key. Anything else that is not a digit or one of the separators a
person writes (space, - ( ) .) is refused: control characters, newlines, tabs,
superscripts, letters.
"""
from __future__ import annotations

import unicodedata

EXPECTED = "+<country code><number>, e.g. +971501234567"
_SEPARATORS = frozenset(" -().")


class BadPhone(ValueError):
    def __init__(self, given: str, why: str):
        super().__init__(f"{given!r} is not a phone number ({why}); expected E.164: {EXPECTED}")
        self.given = given


def _ascii_digit(ch: str, raw: str) -> str:
    if "0" <= ch <= "9":
        return ch
    if unicodedata.category(ch) == "Nd":   # a decimal digit of another script: the same number
        return str(unicodedata.decimal(ch))
    raise BadPhone(raw, f"{ch!r} (U+{ord(ch):04X}) is not a digit")


def normalize(raw: str) -> str:
    """'+971 50-123 4567', '00971501234567' or '+٩٧١٥٠١٢٣٤٥٦٧' → '+971501234567'; anything else → BadPhone."""
    if not isinstance(raw, str) or not raw.strip(" "):
        raise BadPhone(str(raw), "empty")
    s = raw.strip(" ")
    plus = s.startswith("+")
    digits = "".join(_ascii_digit(c, raw) for c in s[plus:] if c not in _SEPARATORS)
    if not plus:
        if not digits.startswith("00"):
            raise BadPhone(raw, "no leading + or 00 with the country code")
        digits = digits[2:]
    if digits.startswith("0"):
        raise BadPhone(raw, "a country code never starts with 0")
    if not 8 <= len(digits) <= 15:
        raise BadPhone(raw, f"{len(digits)} digits; E.164 numbers have 8 to 15")
    return "+" + digits
