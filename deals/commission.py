"""One commission calculation: which rule applies, what it gives, the VAT and the splits.

Everything is Decimal and unrounded until the end, where the commission is
rounded ONCE, half-up, to 2 places; the VAT is computed on that rounded
commission and rounded the same way (never folded into it); total =
commission + VAT. The splits of a share rule are shares of the rounded
commission and add up to it exactly (the rounding remainder goes to the
first split with a share above 0, so a 0 % split stays 0).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal

from deals.errors import CommissionError
from deals.money import HUNDRED, parse_decimal, show, to_cents
from deals.rules import Rule, RuleSet, Scope
from runtime.vocabulary import TRANSACTIONS


@dataclass(frozen=True)
class Result:
    rule: str
    base: Decimal                          # the price the commission is on
    commission: Decimal                    # rounded
    vat: Decimal                           # on the rounded commission, rounded
    total: Decimal                         # commission + vat
    splits: tuple[tuple[str, Decimal], ...]
    needs_approval: bool

    def share_of(self, to: str) -> Decimal | None:
        return next((amount for name, amount in self.splits if name == to), None)

    def as_json(self) -> dict:
        """The `commission calc --json` document: amounts as decimal strings ("40000.00")."""
        return {"rule": self.rule, "base": show(self.base), "commission": show(self.commission),
                "vat": show(self.vat), "total": show(self.total),
                "splits": [{"to": to, "amount": show(a)} for to, a in self.splits],
                "needs_approval": self.needs_approval}


def calculate(rules: RuleSet, price, property_type: str, transaction: str, agent: str | None = None,
              project: str | None = None, date: dt.date | None = None, vat_pct=Decimal(0),
              known_agents: Collection[str] | None = None) -> Result:
    """The commission on a deal, by the highest-priority active rule in scope.

    `known_agents`, when given, is the set of registered agents: another agent
    is refused. Raises CommissionError with a message for the user.
    """
    price = _price(price)
    vat_pct = _vat(vat_pct)
    if transaction not in TRANSACTIONS:
        raise CommissionError(f"unknown transaction {transaction!r}; one of {', '.join(TRANSACTIONS)}")
    if not isinstance(property_type, str) or not property_type.strip():
        raise CommissionError("the property type is required (villa, apartment, townhouse, office, land, ...)")
    if agent is not None and known_agents is not None and agent not in known_agents:
        raise CommissionError(f"{agent} is not a registered agent")
    date = date or dt.date.today()
    rule = choose(rules, price, property_type, transaction, agent, project, date)
    commission = to_cents(raw_commission(rule, price))
    vat = to_cents(commission * vat_pct / HUNDRED)
    return Result(rule=rule.name, base=price, commission=commission, vat=vat, total=commission + vat,
                  splits=split(rule, commission),
                  needs_approval=rule.approval_above is not None and commission > rule.approval_above)


def choose(rules: RuleSet, price: Decimal, property_type: str, transaction: str, agent: str | None,
           project: str | None, date: dt.date) -> Rule:
    """The highest-priority active rule in scope; two at that priority is an error, not a guess."""
    matching = [r for r in rules.rules if r.active and in_scope(r.scope, price, property_type, transaction,
                                                                   agent, project, date)]
    if not matching:
        expired = [r for r in rules.rules if r.active and r.scope.valid_to is not None and r.scope.valid_to < date
                   and in_scope(r.scope, price, property_type, transaction, agent, project, r.scope.valid_to)]
        if expired:
            best = max(expired, key=lambda r: r.priority)
            raise CommissionError(f"rule {best.name!r} expired on {best.scope.valid_to.isoformat()}; "
                                  f"no other rule covers a {transaction} of a {property_type} at {show(price)}")
        raise CommissionError(f"no commission rule in scope for a {transaction} of a {property_type} "
                              f"at {show(price)}" + (f" by {agent}" if agent else "")
                              + (f" in {project}" if project else "") + f" on {date.isoformat()}")
    top = max(r.priority for r in matching)
    best = [r for r in matching if r.priority == top]
    if len(best) > 1:
        raise CommissionError(f"rules {', '.join(repr(r.name) for r in best)} all apply at priority {top}; "
                              "give one of them a higher priority")
    return best[0]


def in_scope(scope: Scope, price: Decimal, property_type: str, transaction: str, agent: str | None,
             project: str | None, date: dt.date) -> bool:
    """Every key the scope gives must match (an agent- or project-scoped rule needs one given)."""
    return ((scope.transaction is None or transaction in scope.transaction)
            and (scope.property_type is None or property_type.strip().lower() in scope.property_type)
            and (scope.agent is None or agent in scope.agent)
            and (scope.project is None or (project or "").strip().casefold() in scope.project)
            and (scope.min_value is None or price >= scope.min_value)
            and (scope.max_value is None or price <= scope.max_value)
            and (scope.valid_from is None or date >= scope.valid_from)
            and (scope.valid_to is None or date <= scope.valid_to))


def raw_commission(rule: Rule, price: Decimal) -> Decimal:
    """The unrounded commission, the minimum applied."""
    if rule.kind in ("percentage", "share"):
        value = price * rule.rate / HUNDRED
    elif rule.kind == "fixed":
        value = rule.amount
    elif rule.mode == "flat":
        value = price * _tier_of(rule, price).rate / HUNDRED
    else:
        value = _marginal(rule, price)
    if rule.minimum is not None and value < rule.minimum:
        value = rule.minimum
    return value


def _tier_of(rule: Rule, price: Decimal):
    """The tier a price falls in: the first whose up_to (inclusive) reaches it."""
    for tier in rule.tiers:
        if tier.up_to is None or price <= tier.up_to:
            return tier
    raise CommissionError(f"rule {rule.name!r}: the price {show(price)} is above its last tier "
                          f"(up to {show(rule.tiers[-1].up_to)}); add an open-ended tier")


def _marginal(rule: Rule, price: Decimal) -> Decimal:
    """Each slice of the price at its tier's rate: (previous bound, up_to], exactly, no unit lost."""
    _tier_of(rule, price)   # refuses a price above a closed last tier
    total, lower = Decimal(0), Decimal(0)
    for tier in rule.tiers:
        upper = price if tier.up_to is None else min(price, tier.up_to)
        if upper > lower:
            total += (upper - lower) * tier.rate / HUNDRED
        if tier.up_to is None or price <= tier.up_to:
            break
        lower = tier.up_to
    return total


def split(rule: Rule, commission: Decimal) -> tuple[tuple[str, Decimal], ...]:
    """Who gets what of the rounded commission; without splits, all of it to the agent."""
    if not rule.splits:
        return (("agent", commission),)
    amounts = [to_cents(commission * s.pct / HUNDRED) for s in rule.splits]
    remainder = commission - sum(amounts, Decimal(0))
    first = next(i for i, s in enumerate(rule.splits) if s.pct > 0)
    amounts[first] += remainder
    return tuple((s.to, a) for s, a in zip(rule.splits, amounts))


def _price(price) -> Decimal:
    try:
        value = parse_decimal(price, "the price")
    except ValueError as e:
        raise CommissionError(str(e)) from None
    if value <= 0:
        raise CommissionError(f"the price must be above 0, got {price}")
    return value


def _vat(vat_pct) -> Decimal:
    try:
        value = parse_decimal(vat_pct, "vat_pct")
    except ValueError as e:
        raise CommissionError(str(e)) from None
    if not 0 <= value <= HUNDRED:
        raise CommissionError(f"vat_pct must be between 0 and 100, got {vat_pct}")
    return value
