"""Commission rules: the TOML file, parsed and validated whole before anything uses it.

`parse(text)` returns a RuleSet or raises RuleError listing every fault, each
naming the rule and the field (`rule "sale-2pct": rate: ...`). The file's
format is issue 16's: `[[rule]]` tables with a `[rule.scope]`; `[[plan]]`
tables (how an agent's commission is split with the agency) are validated by
agents/plans.py in the same pass; any other top-level key is refused.
"""
from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from decimal import Decimal

from agents.plans import Plan, parse_plans
from deals.errors import RuleError
from deals.money import HUNDRED, parse_decimal
from runtime import phone
from runtime.vocabulary import TRANSACTIONS

KINDS = ("percentage", "fixed", "tiered", "share")
TIER_MODES = ("flat", "marginal")
TOP_LEVEL = ("rule", "plan")
COMMON_KEYS = ("name", "kind", "priority", "active", "approval_above", "minimum", "scope")
KIND_KEYS = {"percentage": ("rate",), "fixed": ("amount",), "tiered": ("mode", "tiers"),
             "share": ("rate", "splits")}
SCOPE_KEYS = ("transaction", "property_type", "agent", "project", "min_value", "max_value",
              "valid_from", "valid_to")


@dataclass(frozen=True)
class Tier:
    up_to: Decimal | None   # inclusive; None: everything above the previous tier
    rate: Decimal           # percent


@dataclass(frozen=True)
class Split:
    to: str
    pct: Decimal


@dataclass(frozen=True)
class Scope:
    """When a rule applies: every given key must match (None: any)."""
    transaction: tuple[str, ...] | None = None
    property_type: tuple[str, ...] | None = None   # lower-cased
    agent: tuple[str, ...] | None = None           # E.164
    project: tuple[str, ...] | None = None         # case-folded
    min_value: Decimal | None = None               # inclusive
    max_value: Decimal | None = None               # inclusive
    valid_from: dt.date | None = None              # inclusive
    valid_to: dt.date | None = None                # inclusive


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    priority: int = 0
    active: bool = True
    approval_above: Decimal | None = None
    minimum: Decimal | None = None
    scope: Scope = Scope()
    rate: Decimal | None = None        # percentage, share
    amount: Decimal | None = None      # fixed
    mode: str | None = None            # tiered
    tiers: tuple[Tier, ...] = ()       # tiered
    splits: tuple[Split, ...] = ()     # share


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    plans: tuple[Plan, ...] = ()       # [[plan]] tables (agents/plans.py)

    def named(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)


EMPTY = RuleSet(rules=())


def parse(text: str) -> RuleSet:
    """The whole file → RuleSet, or RuleError with every problem found (nothing half-read)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RuleError([f"not valid TOML: {e}"]) from None
    problems: list[str] = []
    for key in data:
        if key not in TOP_LEVEL:
            problems.append(f"unknown top-level table [{key}]; known: {', '.join(TOP_LEVEL)}")
    raw_rules = data.get("rule", [])
    if not _is_table_list(raw_rules):
        problems.append("[[rule]] must be an array of tables ([[rule]] blocks)")
        raw_rules = []
    raw_plans = data.get("plan", [])
    if not _is_table_list(raw_plans):
        problems.append("[[plan]] must be an array of tables ([[plan]] blocks)")
        raw_plans = []
    rules, seen = [], set()
    for i, raw in enumerate(raw_rules, 1):
        label = f'rule "{raw["name"]}"' if isinstance(raw.get("name"), str) and raw["name"] else f"rule #{i}"
        rule = _rule(raw, label, problems.append)
        if rule is not None:
            if rule.name in seen:
                problems.append(f"{label}: name: another rule has the same name")
            seen.add(rule.name)
            rules.append(rule)
    plans, plan_problems = parse_plans(raw_plans)
    problems += plan_problems
    if problems:
        raise RuleError(problems)
    return RuleSet(rules=tuple(rules), plans=plans)


def _is_table_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def _rule(raw: dict, label: str, problem) -> Rule | None:
    """One [[rule]] → Rule, reporting each fault through `problem`; None when any was found."""
    errors: list[str] = []

    def fail(field: str, why: str) -> None:
        errors.append(f"{label}: {field}: {why}")

    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        fail("name", "required, a non-empty string")
    kind = raw.get("kind")
    if kind not in KINDS:
        fail("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    allowed = COMMON_KEYS + (KIND_KEYS.get(kind, ()) if kind in KINDS else sum(KIND_KEYS.values(), ()))
    for key in raw:
        if key not in allowed:
            used_by = [k for k, keys in KIND_KEYS.items() if key in keys]
            fail(key, f"not used by kind {kind!r} (it belongs to {', '.join(used_by)})" if used_by
                 else f"unknown field; known: {', '.join(COMMON_KEYS + tuple(sorted(set(sum(KIND_KEYS.values(), ())))))}")
    priority = raw.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        fail("priority", f"must be a whole number, got {priority!r}")
    active = raw.get("active", True)
    if not isinstance(active, bool):
        fail("active", f"must be true or false, got {active!r}")
    approval_above = _amount(raw, "approval_above", fail, optional=True)
    minimum = _amount(raw, "minimum", fail, optional=True)
    scope = _scope(raw.get("scope", {}), fail)
    fields: dict = {}
    if kind in ("percentage", "share"):
        fields["rate"] = _percent(raw, "rate", fail)
    if kind == "fixed":
        fields["amount"] = _amount(raw, "amount", fail, optional=False, positive=True)
    if kind == "tiered":
        fields["mode"] = raw.get("mode")
        if fields["mode"] not in TIER_MODES:
            fail("mode", f"must be one of {', '.join(TIER_MODES)}, got {fields['mode']!r}")
        fields["tiers"] = _tiers(raw.get("tiers"), fail)
    if kind == "share":
        fields["splits"] = _splits(raw.get("splits"), fail)
    if errors:
        for e in errors:
            problem(e)
        return None
    return Rule(name=name.strip(), kind=kind, priority=priority, active=active,
                approval_above=approval_above, minimum=minimum, scope=scope, **fields)


def _amount(raw: dict, key: str, fail, optional: bool, positive: bool = False) -> Decimal | None:
    value = raw.get(key, "" if optional else None)
    if value is None:
        fail(key, "required, a decimal string")
        return None
    if optional and value == "":
        return None
    try:
        number = parse_decimal(value, "it")
    except ValueError as e:
        fail(key, str(e))
        return None
    if number < 0 or (positive and number == 0):
        fail(key, f"must be {'above' if positive else 'at least'} 0, got {value!r}")
        return None
    return number


def _percent(raw: dict, key: str, fail) -> Decimal | None:
    if key not in raw:
        fail(key, "required, a percent as a decimal string, e.g. \"2\"")
        return None
    try:
        number = parse_decimal(raw[key], "it")
    except ValueError as e:
        fail(key, str(e))
        return None
    if not 0 < number <= HUNDRED:
        fail(key, f"must be above 0 and at most 100 (percent), got {raw[key]!r}")
        return None
    return number


def _tiers(raw, fail) -> tuple[Tier, ...]:
    if not _is_table_list(raw) or not raw:
        fail("tiers", "required, a list like [{up_to = \"2000000\", rate = \"1.5\"}, {rate = \"2\"}]")
        return ()
    tiers, previous = [], Decimal(0)
    for i, t in enumerate(raw, 1):
        where = f"tiers[{i}]"
        for key in t:
            if key not in ("up_to", "rate"):
                fail(where, f"unknown field {key!r}; a tier has up_to and rate")
        rate = _percent(t, "rate", lambda f, why: fail(f"{where}.{f}", why))
        up_to = t.get("up_to", "")
        if up_to == "":
            if i != len(raw):
                fail(f"{where}.up_to", "only the last tier may be open-ended (no up_to)")
            bound = None
        else:
            try:
                bound = parse_decimal(up_to, "it")
            except ValueError as e:
                fail(f"{where}.up_to", str(e))
                continue
            if bound <= previous:
                fail(f"{where}.up_to", f"must be above the previous tier's bound {previous}, got {up_to!r}")
            previous = bound
        if rate is not None:
            tiers.append(Tier(up_to=bound, rate=rate))
    return tuple(tiers)


def _splits(raw, fail) -> tuple[Split, ...]:
    if not _is_table_list(raw) or not raw:
        fail("splits", "required, a list like [{to = \"agent\", pct = \"60\"}, {to = \"company\", pct = \"40\"}]")
        return ()
    splits, names = [], set()
    for i, s in enumerate(raw, 1):
        where = f"splits[{i}]"
        to = s.get("to")
        if not isinstance(to, str) or not to.strip():
            fail(f"{where}.to", "required, who receives this share, e.g. \"agent\"")
            continue
        if to in names:
            fail(f"{where}.to", f"{to!r} appears twice")
        names.add(to)
        try:
            pct = parse_decimal(s.get("pct"), "it")
        except ValueError as e:
            fail(f"{where}.pct", str(e))
            continue
        if not 0 <= pct <= HUNDRED:
            fail(f"{where}.pct", f"must be between 0 and 100, got {s.get('pct')!r}")
            continue
        splits.append(Split(to=to.strip(), pct=pct))
    total = sum((s.pct for s in splits), Decimal(0))
    if len(splits) == len(raw) and total != HUNDRED:
        fail("splits", f"must total exactly 100, they total {total}")
    return tuple(splits)


def _scope(raw, fail) -> Scope:
    if not isinstance(raw, dict):
        fail("scope", "must be a table ([rule.scope])")
        return Scope()
    for key in raw:
        if key not in SCOPE_KEYS:
            fail(f"scope.{key}", f"unknown scope key; known: {', '.join(SCOPE_KEYS)}")
    values: dict = {}
    for key in ("transaction", "property_type", "agent", "project"):
        if key in raw:
            values[key] = _text_list(raw[key], key, fail)
    if values.get("transaction"):
        for t in values["transaction"]:
            if t not in TRANSACTIONS:
                fail("scope.transaction", f"unknown transaction {t!r}; one of {', '.join(TRANSACTIONS)}")
    if values.get("property_type"):
        values["property_type"] = tuple(p.lower() for p in values["property_type"])
    if values.get("project"):
        values["project"] = tuple(p.casefold() for p in values["project"])
    if values.get("agent"):
        agents = []
        for a in values["agent"]:
            try:
                agents.append(phone.normalize(a))
            except phone.BadPhone as e:
                fail("scope.agent", str(e))
        values["agent"] = tuple(agents)
    for key in ("min_value", "max_value"):
        values[key] = _amount(raw, key, lambda f, why: fail(f"scope.{f}", why), optional=True)
    for key in ("valid_from", "valid_to"):
        values[key] = _date(raw.get(key, ""), key, fail)
    if values["min_value"] is not None and values["max_value"] is not None \
            and values["min_value"] > values["max_value"]:
        fail("scope.max_value", "must not be below scope.min_value")
    if values["valid_from"] and values["valid_to"] and values["valid_from"] > values["valid_to"]:
        fail("scope.valid_to", "must not be before scope.valid_from")
    return Scope(**values)


def _text_list(value, key: str, fail) -> tuple[str, ...] | None:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        fail(f"scope.{key}", f"must be a list of non-empty strings, e.g. [\"a\", \"b\"], got {value!r}")
        return None
    return tuple(v.strip() for v in value)


def _date(value, key: str, fail) -> dt.date | None:
    if value == "":
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    fail(f"scope.{key}", f"must be a date YYYY-MM-DD, got {value!r}")
    return None


def rule_json(rule: Rule) -> dict:
    """`commission rules --json`: one rule as the file would say it (amounts as decimal strings, "" for none)."""
    s = rule.scope
    text = lambda v: "" if v is None else str(v)  # noqa: E731
    doc = {"name": rule.name, "kind": rule.kind, "priority": rule.priority, "active": rule.active,
           "approval_above": text(rule.approval_above), "minimum": text(rule.minimum),
           "scope": {"transaction": list(s.transaction or ()), "property_type": list(s.property_type or ()),
                     "agent": list(s.agent or ()), "project": list(s.project or ()),
                     "min_value": text(s.min_value), "max_value": text(s.max_value),
                     "valid_from": text(s.valid_from), "valid_to": text(s.valid_to)}}
    if rule.kind in ("percentage", "share"):
        doc["rate"] = str(rule.rate)
    if rule.kind == "fixed":
        doc["amount"] = str(rule.amount)
    if rule.kind == "tiered":
        doc["mode"] = rule.mode
        doc["tiers"] = [{"up_to": text(t.up_to), "rate": str(t.rate)} for t in rule.tiers]
    if rule.kind == "share":
        doc["splits"] = [{"to": x.to, "pct": str(x.pct)} for x in rule.splits]
    return doc
