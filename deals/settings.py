"""The `[commission]` settings: VAT percent and currency (issue 16), read from config.toml's section.

runtime/config.py does not know this section yet; until the lead wires it in,
`parse(config_section_dict)` validates the values and the defaults apply.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from deals.errors import DealError
from deals.money import HUNDRED, parse_decimal

DEFAULT_VAT_PCT = Decimal("5")
DEFAULT_CURRENCY = "AED"


@dataclass(frozen=True)
class CommissionSettings:
    vat_pct: Decimal = DEFAULT_VAT_PCT
    currency: str = DEFAULT_CURRENCY


def parse(section: dict | None) -> CommissionSettings:
    """`{"vat_pct": 5, "currency": "AED"}` → CommissionSettings; a bad value → DealError naming the key."""
    section = dict(section or {})
    unknown = set(section) - {"vat_pct", "currency"}
    if unknown:
        raise DealError(f"[commission]: unknown key {sorted(unknown)[0]}; known: vat_pct, currency")
    vat = section.get("vat_pct", DEFAULT_VAT_PCT)
    try:
        # config.toml gives a number; str() keeps 5.5 as "5.5", not the float's binary expansion
        vat = parse_decimal(str(vat) if isinstance(vat, (int, float)) and not isinstance(vat, bool) else vat,
                            "[commission] vat_pct")
    except ValueError as e:
        raise DealError(str(e)) from None
    if not 0 <= vat <= HUNDRED:
        raise DealError(f"[commission] vat_pct must be between 0 and 100, got {vat}")
    currency = section.get("currency", DEFAULT_CURRENCY)
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha() and currency.isupper()):
        raise DealError(f"[commission] currency must be a 3-letter ISO code like \"AED\", got {currency!r}")
    return CommissionSettings(vat_pct=vat, currency=currency)
