"""Outbound routing: which master sends a message.

A master can take a message when it is healthy and not at its rate limit
(`MasterView.available`); every strategy picks among those only and returns
None when there is none. Picks are deterministic given the inputs and the
`RoundRobinState`, so tests (and an admin reading the log) can follow them.

Priority: a *lower* `priority` number is preferred (1 before 2, like MX
records), and role 'primary' comes before any 'backup'. Together they form a
tier (`rank`); the best tier that has an available master takes the traffic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from runtime.vocabulary import DEFAULT_STRATEGY, ROLES, STRATEGIES  # noqa: E402,F401 - the one definition


@dataclass(frozen=True)
class MasterView:
    """What the balancer knows about one master at the moment of a decision."""
    phone: str                     # E.164, e.g. "+971505760056"
    role: str = "backup"           # 'primary' | 'backup'
    priority: int = 0              # lower is preferred
    weight: float = 1.0            # > 0; share of traffic relative to the others
    region: str | None = None      # ISO 3166 alpha-2, e.g. "AE"
    healthy: bool = True
    conversations: int = 0         # conversations it owns now
    outbox_depth: int = 0          # pending outbox entries targeted at it
    can_send: bool = True          # False when its rate limiter says it is at its limit

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, not {self.role!r}")
        if not (math.isfinite(self.weight) and self.weight > 0):
            raise ValueError(f"weight must be a finite number > 0, not {self.weight!r}")
        if self.region is not None:
            object.__setattr__(self, "region", self.region.upper())

    @property
    def available(self) -> bool:
        return self.healthy and self.can_send

    @property
    def load(self) -> int:
        return self.conversations + self.outbox_depth


def rank(master: MasterView) -> tuple[bool, int]:
    """Sort key of a master's tier: primaries first, then the lower priority number."""
    return (master.role != "primary", master.priority)


class RoundRobinState:
    """What the rotating strategies remember between picks.

    Lives in the balancer actor's memory; losing it (a restart) only restarts
    the rotation, so it need not be persisted (`to_dict` exists if wanted).
    """

    def __init__(self) -> None:
        self.last: str | None = None          # phone picked last (rotation cursor)
        self.current: dict[str, float] = {}   # smooth weighted round robin's running weights

    def to_dict(self) -> dict:
        return {"last": self.last, "current": dict(self.current)}

    @classmethod
    def from_dict(cls, data: dict) -> "RoundRobinState":
        state = cls()
        state.last = data.get("last")
        state.current = {str(k): float(v) for k, v in data.get("current", {}).items()}
        return state


# Calling code → ISO country. Compact: the region's and the commonly seen codes.
# Shared codes map to their largest country (+1 → US, +7 → RU), with a longer
# prefix where one is unambiguous (+76/+77 → KZ).
CALLING_CODES: dict[str, str] = {
    "1": "US", "7": "RU", "76": "KZ", "77": "KZ",
    "20": "EG", "27": "ZA", "30": "GR", "31": "NL", "32": "BE", "33": "FR", "34": "ES",
    "36": "HU", "39": "IT", "40": "RO", "41": "CH", "43": "AT", "44": "GB", "45": "DK",
    "46": "SE", "47": "NO", "48": "PL", "49": "DE", "51": "PE", "52": "MX", "54": "AR",
    "55": "BR", "56": "CL", "57": "CO", "60": "MY", "61": "AU", "62": "ID", "63": "PH",
    "64": "NZ", "65": "SG", "66": "TH", "81": "JP", "82": "KR", "84": "VN", "86": "CN",
    "90": "TR", "91": "IN", "92": "PK", "93": "AF", "94": "LK", "95": "MM", "98": "IR",
    "211": "SS", "212": "MA", "213": "DZ", "216": "TN", "218": "LY", "220": "GM",
    "221": "SN", "233": "GH", "234": "NG", "249": "SD", "251": "ET", "252": "SO",
    "254": "KE", "255": "TZ", "256": "UG", "260": "ZM", "263": "ZW", "351": "PT",
    "352": "LU", "353": "IE", "357": "CY", "358": "FI", "359": "BG", "370": "LT",
    "371": "LV", "372": "EE", "373": "MD", "374": "AM", "375": "BY", "380": "UA",
    "381": "RS", "385": "HR", "420": "CZ", "421": "SK", "852": "HK", "853": "MO",
    "855": "KH", "880": "BD", "886": "TW", "960": "MV", "961": "LB", "962": "JO",
    "963": "SY", "964": "IQ", "965": "KW", "966": "SA", "967": "YE", "968": "OM",
    "970": "PS", "971": "AE", "972": "IL", "973": "BH", "974": "QA", "975": "BT",
    "976": "MN", "977": "NP", "992": "TJ", "993": "TM", "994": "AZ", "995": "GE",
    "996": "KG", "998": "UZ",
}
_LONGEST_CODE = max(len(code) for code in CALLING_CODES)


def country_of(phone: str) -> str | None:
    """ISO country of an international number by longest calling-code prefix, or None.

    Accepts "+971 50 576 0056", "00971505760056" or bare digits "971505760056".
    """
    text = phone.strip()
    if text.startswith("00"):
        text = text[2:]
    digits = "".join(ch for ch in text if ch.isdigit())
    for length in range(min(_LONGEST_CODE, len(digits)), 0, -1):
        country = CALLING_CODES.get(digits[:length])
        if country is not None:
            return country
    return None


def pick(strategy: str, masters: list[MasterView], customer: str,
         state: RoundRobinState | None = None) -> str | None:
    """The phone of the master to send `customer`'s message, or None if no master can take it.

    Without a `state` each call starts a fresh rotation (so round-robin gives the
    first available master in phone order): pass the balancer's state to rotate.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")
    if state is None:
        state = RoundRobinState()
    candidates = sorted((m for m in masters if m.available), key=lambda m: m.phone)
    if not candidates:
        return None
    if strategy == "priority":
        return _smooth_weighted(candidates, state)
    if strategy == "least-loaded":
        return _least_loaded(candidates, state)
    if strategy == "region":
        country = country_of(customer)
        local = [m for m in candidates if country is not None and m.region == country]
        return _rotate(local or candidates, state)
    return _rotate(candidates, state)


def route(owner: str | None, masters: list[MasterView], customer: str,
          strategy: str = DEFAULT_STRATEGY, state: RoundRobinState | None = None) -> str | None:
    """Affinity: the owning master while it can take the message, else a pick by `strategy`.

    `can_send=False` on the owner re-routes: set it only when the owner is at a
    real limit, not for a wait of a second (the actor can just wait for that).
    """
    for master in masters:
        if master.phone == owner and master.available:
            return owner
    return pick(strategy, masters, customer, state)


def _rotate(candidates: list[MasterView], state: RoundRobinState) -> str:
    """The first candidate after the last pick in phone order, wrapping around.

    A cursor on the phone (not an index) keeps the rotation fair when masters
    join, leave or are skipped for a while.
    """
    chosen = candidates[0].phone
    if state.last is not None:
        for master in candidates:
            if master.phone > state.last:
                chosen = master.phone
                break
    state.last = chosen
    return chosen


def _smooth_weighted(candidates: list[MasterView], state: RoundRobinState) -> str:
    """nginx's smooth weighted round robin within the best available tier.

    Each pick adds every candidate's weight to its running value, takes the
    largest (earliest phone on a tie) and subtracts the total from it: over n
    picks each master is chosen within one pick of n·weight/total, interleaved.
    """
    best = min(rank(m) for m in candidates)
    tier = [m for m in candidates if rank(m) == best]
    total = sum(m.weight for m in tier)
    # Only the tier's masters keep running weights; others restart at 0 when they return.
    state.current = {m.phone: state.current.get(m.phone, 0.0) + m.weight for m in tier}
    chosen = min(tier, key=lambda m: (-state.current[m.phone], m.phone)).phone
    state.current[chosen] -= total
    state.last = chosen
    return chosen


def _least_loaded(candidates: list[MasterView], state: RoundRobinState) -> str:
    """The candidate with the least load per weight; ties rotate, so a burst spreads."""
    def per_weight(m: MasterView) -> Fraction:
        return Fraction(m.load) / Fraction(m.weight)
    lowest = min(per_weight(m) for m in candidates)
    return _rotate([m for m in candidates if per_weight(m) == lowest], state)

