"""Money as decimal.Decimal: parsed from strings, never floats; rounded once, half-up, to cents."""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
# "2,000,000" reads as two million; "2,5" is refused rather than guessed at (2.5 or 25?).
_GROUPED = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")


def to_cents(value: Decimal) -> Decimal:
    """The one rounding of a calculation: half-up to 2 places."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_decimal(value: object, what: str) -> Decimal:
    """A decimal string (or int, or Decimal) → Decimal; floats are refused because they are not exact.

    Raises ValueError naming `what`; callers turn it into their domain error.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"{what} must be a decimal string like \"2.5\", not the number {value!r}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        s = value.strip()
        if "," in s:
            if not _GROUPED.fullmatch(s):
                raise ValueError(f"{what} must be a decimal number, got {value!r}")
            s = s.replace(",", "")
        try:
            number = Decimal(s)
        except InvalidOperation:
            raise ValueError(f"{what} must be a decimal number, got {value!r}") from None
    else:
        raise ValueError(f"{what} must be a decimal string, got {type(value).__name__} {value!r}")
    if not number.is_finite():
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return number


def show(value: Decimal) -> str:
    """An amount as the decimal string the commands print: '40000.00'."""
    return str(to_cents(value))
