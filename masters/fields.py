"""A master's fields, checked on the way in (CLI, gateway) so that nothing a user
stores can make an actor raise on every message later (issue 12: a NaN weight
crashed the balancer on each message and the daemon at each start).

`validate()` is pure: it takes what a user gave and returns the values to
store, or raises BadField naming the field, the value and what is allowed.
"""
from __future__ import annotations

import math
import unicodedata

from runtime.phone import BadPhone, normalize
from runtime.vocabulary import ROLES

MIN_WEIGHT, MAX_WEIGHT = 0.01, 1000.0
MIN_PRIORITY, MAX_PRIORITY = -1000, 1000
MAX_NAME = 100


class BadField(ValueError):
    def __init__(self, field: str, value, allowed: str):
        super().__init__(f"{field} {value!r} is not valid: must be {allowed}")
        self.field, self.value, self.allowed = field, value, allowed


def check_weight(weight) -> float:
    """A finite share of traffic in [MIN_WEIGHT, MAX_WEIGHT]: NaN, inf, 0 and negatives refused."""
    allowed = f"a number from {MIN_WEIGHT:g} to {MAX_WEIGHT:g}"
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise BadField("weight", weight, allowed)
    if not (math.isfinite(weight) and MIN_WEIGHT <= weight <= MAX_WEIGHT):
        raise BadField("weight", weight, allowed)
    return float(weight)


def check_priority(priority) -> int:
    allowed = f"a whole number from {MIN_PRIORITY} to {MAX_PRIORITY} (lower goes first)"
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise BadField("priority", priority, allowed)
    if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise BadField("priority", priority, allowed)
    return priority


def check_role(role) -> str:
    if role not in ROLES:
        raise BadField("role", role, f"one of {', '.join(ROLES)}")
    return role


def check_name(name) -> str:
    allowed = f"1 to {MAX_NAME} printable characters"
    if not isinstance(name, str):
        raise BadField("name", name, allowed)
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME or any(unicodedata.category(c)[0] == "C" for c in name):
        raise BadField("name", name, allowed)
    return name


def check_region(region) -> str | None:
    """None (serves everyone) or a two-letter ISO country code, upper-cased."""
    if region is None:
        return None
    if not (isinstance(region, str) and len(region) == 2 and region.isascii() and region.isalpha()):
        raise BadField("region", region, "a two-letter ISO country code like AE")
    return region.upper()


def check_phone(phone) -> str:
    try:
        return normalize(phone)
    except BadPhone as e:
        raise BadField("phone", phone, f"an E.164 number ({e})") from None


def validate(phone, name, role="primary", priority=0, weight=1.0, region=None) -> dict:
    """{phone, name, role, priority, weight, region} as they may be stored, or BadField."""
    return {"phone": check_phone(phone), "name": check_name(name), "role": check_role(role),
            "priority": check_priority(priority), "weight": check_weight(weight),
            "region": check_region(region)}


DEFAULT_ROUTING = {"role": "backup", "priority": MAX_PRIORITY, "weight": 1.0, "region": None}


def routing_fields(master) -> tuple[dict, list[tuple[str, str]]]:
    """A stored master's role, priority, weight and region, each checked as on the way in.

    A value that does not pass (stored before these checks, or by hand) is replaced by a safe
    one — last in line, ordinary weight — and named in the second result as (field, why), so
    the caller can say so once instead of raising on every message."""
    checks = {"role": check_role, "priority": check_priority, "weight": check_weight,
              "region": check_region}
    fields, refused = {}, []
    for name, check in checks.items():
        try:
            fields[name] = check(getattr(master, name))
        except BadField as e:
            fields[name] = DEFAULT_ROUTING[name]
            refused.append((name, str(e)))
    return fields, refused
