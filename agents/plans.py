"""Commission plans: how one deal's commission is divided between the agent and the agency.

A plan is a `[[plan]]` table of the commission rules file (deals/rules.py
hands the tables to `parse_plans`, so the file is validated whole):

    [[plan]]
    name = "standard"
    agent_pct = "70"                  # the agent's percent of the commission
    agency_cap_per_year = "100000"    # optional: the agency's share from one agent stops here each plan year
    cap_year_start = "01-01"          # "01-01" (calendar year) or "start" (the agent's start date)
    referral_pct = "25"               # paid to a referrer (or --as-referral), percent of the commission

An agent without a plan keeps 100 % (DEFAULT). `split` is the one place the
money is divided: the agency's uncapped share is rounded once, half-up, to
cents, then limited to what is left of its cap; the agent gets the rest, so the
two always add up to the commission exactly. A cap crossed inside one deal
splits that deal exactly at the cap: the agency gets what was left of it.
"""
from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from decimal import Decimal

from agents.errors import PlanError
from runtime.money import HUNDRED, parse_decimal, to_cents

KEYS = ("name", "agent_pct", "agency_cap_per_year", "cap_year_start", "referral_pct")
CAP_YEAR_STARTS = ("01-01", "start")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Plan:
    name: str
    agent_pct: Decimal = HUNDRED
    agency_cap_per_year: Decimal | None = None
    cap_year_start: str = "01-01"
    referral_pct: Decimal = Decimal(25)


DEFAULT = Plan(name="")   # no plan: the agent keeps 100 %, referral 25 %


@dataclass(frozen=True)
class Split:
    agent: Decimal
    agency: Decimal


def parse_plans(raw: list[dict]) -> tuple[tuple[Plan, ...], list[str]]:
    """The file's [[plan]] tables → plans and the problems found (each naming the plan and the field)."""
    plans, problems, seen = [], [], set()
    for i, table in enumerate(raw, 1):
        name = table.get("name")
        label = f'plan "{name}"' if isinstance(name, str) and name.strip() else f"plan #{i}"
        errors: list[str] = []

        def fail(field: str, why: str) -> None:
            errors.append(f"{label}: {field}: {why}")

        for k in table:
            if k not in KEYS:
                fail(k, f"unknown field; known: {', '.join(KEYS)}")
        if not isinstance(name, str) or not name.strip():
            fail("name", "required, a non-empty string")
        elif name.strip() in seen:
            fail("name", "another plan has the same name")
        agent_pct = _percent(table, "agent_pct", None, fail)
        referral_pct = _percent(table, "referral_pct", Decimal(25), fail)
        cap = table.get("agency_cap_per_year", "")
        if cap != "":
            try:
                cap = parse_decimal(cap, "it")
                if cap <= 0:
                    fail("agency_cap_per_year", f"must be above 0 (or \"\" for no cap), got {cap}")
            except ValueError as e:
                fail("agency_cap_per_year", str(e))
        start = table.get("cap_year_start", "01-01")
        if start not in CAP_YEAR_STARTS:
            fail("cap_year_start", f"must be \"01-01\" (calendar year) or \"start\" (the agent's start date), "
                                   f"got {start!r}")
        if errors:
            problems += errors
            continue
        seen.add(name.strip())
        plans.append(Plan(name=name.strip(), agent_pct=agent_pct, agency_cap_per_year=cap or None,
                          cap_year_start=start, referral_pct=referral_pct))
    return tuple(plans), problems


def plans_of_rules_text(text: str) -> tuple[Plan, ...]:
    """The plans of a rules file already imported (so already valid)."""
    if text not in _cache:
        _cache.clear()
        plans, problems = parse_plans(tomllib.loads(text).get("plan", []))
        if problems:
            raise PlanError(problems)
        _cache[text] = plans
    return _cache[text]


_cache: dict[str, tuple[Plan, ...]] = {}


def named(plans: tuple[Plan, ...], name: str) -> Plan | None:
    """The plan called `name` ("" names the default: 100 % to the agent)."""
    if not name:
        return DEFAULT
    return next((p for p in plans if p.name == name), None)


def split(commission: Decimal, plan: Plan, agency_so_far: Decimal = ZERO) -> Split:
    """Divide `commission` by `plan`, the agency having had `agency_so_far` from this agent this plan year."""
    commission = to_cents(commission)
    share = to_cents(commission * (HUNDRED - plan.agent_pct) / HUNDRED)
    if plan.agency_cap_per_year is not None:
        left = max(ZERO, to_cents(plan.agency_cap_per_year - agency_so_far))
        share = min(share, left)
    return Split(agent=commission - share, agency=share)


def referral(commission: Decimal, plan: Plan) -> Split:
    """A referral close: the referrer gets referral_pct of the commission, the agency the rest (no cap)."""
    commission = to_cents(commission)
    paid = to_cents(commission * plan.referral_pct / HUNDRED)
    return Split(agent=paid, agency=commission - paid)


def year_start(plan: Plan, agent_start: dt.date, on: dt.date) -> dt.date:
    """The first day of the plan year that `on` falls in: 1 January, or the last anniversary of the start."""
    if plan.cap_year_start == "01-01":
        return dt.date(on.year, 1, 1)
    for year in (on.year, on.year - 1):
        anniversary = _anniversary(agent_start, year)
        if anniversary <= on:
            return max(anniversary, agent_start)
    return agent_start


def _anniversary(start: dt.date, year: int) -> dt.date:
    try:
        return start.replace(year=year)
    except ValueError:      # 29 February in a year without one
        return dt.date(year, 2, 28)


def _percent(table: dict, key: str, default: Decimal | None, fail) -> Decimal | None:
    if key not in table:
        if default is None:
            fail(key, "required, a percent as a decimal string, e.g. \"70\"")
        return default
    try:
        value = parse_decimal(table[key], "it")
    except ValueError as e:
        fail(key, str(e))
        return None
    if not 0 <= value <= HUNDRED:
        fail(key, f"must be between 0 and 100 (percent), got {table[key]!r}")
        return None
    return value


def plan_json(plan: Plan) -> dict:
    return {"name": plan.name, "agent_pct": str(plan.agent_pct),
            "agency_cap_per_year": "" if plan.agency_cap_per_year is None else str(plan.agency_cap_per_year),
            "cap_year_start": plan.cap_year_start, "referral_pct": str(plan.referral_pct)}
