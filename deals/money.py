"""Money as decimal.Decimal (kept here for deals' imports): the helpers live in runtime/money.py,
the bottom layer, because agents/ (below deals) splits commission by plan with the same rounding."""
from runtime.money import CENT, HUNDRED, parse_decimal, show, to_cents  # noqa: F401
