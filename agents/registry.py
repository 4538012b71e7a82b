"""The agent operations the commands call: add, edit, duty, remove, list, show, licence alerts.

Each takes a Store transaction and checks its input before changing
anything, raising AgentError with a message for the user (the transaction
then writes nothing). Who may run what is the command layer's check.
"""
from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from agents import licence
from agents.errors import AgentError
from agents.plans import named, plans_of_rules_text
from runtime import phone
from runtime.vocabulary import AGENT_KINDS, OPEN_DEAL_STAGES
from storage import agents as agents_store
from storage import commission_rules as rules_store
from storage import deals as deals_store
from storage import events
from storage import leads as leads_store
from storage.agents import Agent
from storage.env import Txn

DEFAULT_TZ = "Asia/Dubai"
HELD_LEAD_STATUSES = ("assigned", "accepted")
_BRN = re.compile(r"[A-Za-z0-9-]{1,20}")
MAX_NAME = 100


@dataclass(frozen=True)
class Added:
    agent: Agent
    warnings: tuple[str, ...]    # accepted, but worth saying (an expired or missing licence)


def add_agent(txn: Txn, agent: str, name: str, kind: str = "employee", brn: str = "", brn_expiry: str = "",
              regions=(), specialties=(), plan: str = "", start_date: str = "",
              now: float | None = None, tz: str = DEFAULT_TZ) -> Added:
    """`agent add +A --name NAME --kind K [--brn N --brn-expiry D] [--regions ..] [--specialties ..] [--plan P]`."""
    now = now or time.time()
    today = _today(now, tz)
    record = Agent(phone=phone_of(agent), name=_name(name), added_ts=now, kind=_kind(kind),
                   regions=_words(regions, "--regions"), specialties=_words(specialties, "--specialties"),
                   plan=_plan(txn, plan), start_date=_date(start_date, "--start-date") or today.isoformat(),
                   **_brn(brn, brn_expiry))
    if not agents_store.add(txn, record):
        raise AgentError(f"{record.phone} is already an agent (`agent show {record.phone}`)")
    return Added(record, tuple(_warnings(record, today)))


EDITABLE = ("name", "kind", "brn", "brn_expiry", "regions", "specialties", "plan", "start_date")


def edit_agent(txn: Txn, agent: str, now: float | None = None, tz: str = DEFAULT_TZ, by: str = "",
               **changes) -> Added:
    """Change some fields of an agent (a renewed card, new regions, another plan); others stay.

    The values are checked as `agent add` checks them (`edit_fields`). A change
    is recorded as an `agent_edited` event (by, old → new per field). A new
    card expiry needs nothing more: the licence alerts are marked sent per
    expiry date (agents/licence.py), so the new date is warned about afresh.
    """
    record = get_agent(txn, agent)
    updated = replace(record, **edit_fields(txn, record, changes))
    changed = differences(record, updated)
    if changed:
        agents_store.put(txn, updated)
        events.append(txn, "agent_edited", None, agent=record.phone, by=by, changes=changed)
    return Added(updated, tuple(_warnings(updated, _today(now or time.time(), tz))))


def edit_fields(txn: Txn, record: Agent, changes: dict) -> dict:
    """The checked new values of `changes` (AgentError on the first bad one); nothing is written."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise AgentError(f"cannot change {sorted(unknown)[0]!r} of an agent; one of {', '.join(EDITABLE)}")
    fields: dict = {}
    if "name" in changes:
        fields["name"] = _name(changes["name"])
    if "kind" in changes:
        fields["kind"] = _kind(changes["kind"])
    for key in ("regions", "specialties"):
        if key in changes:
            fields[key] = _words(changes[key], f"--{key}")
    if "plan" in changes:
        fields["plan"] = _plan(txn, changes["plan"])
    if "start_date" in changes:
        fields["start_date"] = _date(changes["start_date"], "--start-date") or record.start_date
    if "brn" in changes or "brn_expiry" in changes:
        fields.update(_brn(changes.get("brn", record.brn), changes.get("brn_expiry", record.brn_expiry)))
    return fields


def differences(old: Agent, new: Agent) -> dict[str, list]:
    """{field: [old, new]} for the editable fields that differ."""
    return {f: [getattr(old, f), getattr(new, f)] for f in EDITABLE if getattr(old, f) != getattr(new, f)}


def set_duty(txn: Txn, agent: str, on) -> Agent:
    """`agent duty +A on|off` (or `!duty on|off`)."""
    if isinstance(on, str):
        if on.strip().lower() not in ("on", "off"):
            raise AgentError(f"duty is on or off, got {on!r}")
        on = on.strip().lower() == "on"
    record = replace(get_agent(txn, agent), on_duty=bool(on))
    agents_store.put(txn, record)
    return record


def remove_agent(txn: Txn, agent: str) -> Agent:
    """`agent remove +A`: refused while the agent holds assigned or accepted leads or open deals, naming them."""
    record = get_agent(txn, agent)
    leads = [lead.id for lead in leads_store.all(txn, agent=record.phone) if lead.status in HELD_LEAD_STATUSES]
    deals = [d.id for d in deals_store.all(txn, agent=record.phone) if d.stage in OPEN_DEAL_STAGES]
    if leads or deals:
        held = ([f"leads {', '.join(leads)}"] if leads else []) + ([f"open deals {', '.join(deals)}"] if deals else [])
        raise AgentError(f"{record.phone} still holds {' and '.join(held)}: reassign them "
                         "(`lead assign`, or close or cancel the deals) first")
    agents_store.remove(txn, record.phone)
    return record


def get_agent(txn: Txn, agent: str) -> Agent:
    record = agents_store.get(txn, phone_of(agent))
    if record is None:
        raise AgentError(f"{phone_of(agent)} is not an agent (`agent add {phone_of(agent)} --name NAME`)")
    return record


def list_agents(txn: Txn) -> list[Agent]:
    return agents_store.all(txn)


def licence_alerts(txn: Txn, now: float | None = None, tz: str = DEFAULT_TZ) -> list[tuple[Agent, int, str]]:
    """The licence alerts due now (agent, days before, text), each recorded as sent so it goes once.

    Run it in a write transaction, then queue the texts to the admins.
    """
    today = _today(now or time.time(), tz)
    due = []
    for a in agents_store.all(txn):
        days = licence.alert_due(a, today)
        if days is not None:
            agents_store.put(txn, replace(a, brn_alerts=licence.alerted(a, days)))
            due.append((a, days, licence.alert_text(a, today)))
    return due


def agent_json(a: Agent, now: float | None = None, tz: str = DEFAULT_TZ) -> dict:
    """`agent list/show --json`: the record, with the licence's days left and whether it expires soon."""
    left = licence.days_left(a, _today(now or time.time(), tz))
    return {"phone": a.phone, "name": a.name, "kind": a.kind, "brn": a.brn, "brn_expiry": a.brn_expiry,
            "licence_days_left": left, "licence_expiring": bool(licence.needs_licence(a) and left is not None
                                                                and 0 <= left <= licence.EXPIRING_WITHIN_DAYS),
            "regions": list(a.regions), "specialties": list(a.specialties), "plan": a.plan, "on_duty": a.on_duty,
            "start_date": a.start_date or _today(a.added_ts, tz).isoformat(), "added_ts": a.added_ts}


def start_of(a: Agent, tz: str = DEFAULT_TZ) -> dt.date:
    """The agent's start date (an issue-16 record has none: the day it was added)."""
    return dt.date.fromisoformat(a.start_date) if a.start_date else _today(a.added_ts, tz)


def phone_of(raw: str) -> str:
    try:
        return phone.normalize(raw)
    except phone.BadPhone as e:
        raise AgentError(f"the agent: {e}") from None


def _warnings(a: Agent, today: dt.date) -> list[str]:
    if not licence.needs_licence(a):
        return []
    reason = licence.check(a, today)
    return [f"{reason}: deals cannot pay this agent commission until a valid card is recorded"] if reason else []


def _name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise AgentError("an agent needs a name (--name)")
    if len(name.strip()) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise AgentError(f"a name is one line of at most {MAX_NAME} characters")
    return name.strip()


def _kind(kind) -> str:
    if kind not in AGENT_KINDS:
        raise AgentError(f"unknown kind {kind!r}; one of {', '.join(AGENT_KINDS)}")
    return kind


def _brn(brn, expiry) -> dict:
    brn = (brn or "").strip()
    expiry_date = _date(expiry, "--brn-expiry")
    if brn and not _BRN.fullmatch(brn):
        raise AgentError(f"--brn must be the card's number (letters, digits, -; at most 20), got {brn!r}")
    if bool(brn) != bool(expiry_date):
        raise AgentError("--brn and --brn-expiry go together: the card's number and the date it expires")
    return {"brn": brn, "brn_expiry": expiry_date or ""}


def _words(value, option: str) -> list[str]:
    """"Marina, JVC" or ["Marina", "JVC"] → ["Marina", "JVC"] (blank entries refused, repeats dropped)."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    if isinstance(value, str) and not value.strip():
        return []
    out: list[str] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise AgentError(f"{option}: a comma-separated list like Marina,JVC (no empty entries), got {value!r}")
        if item.strip().casefold() not in {o.casefold() for o in out}:
            out.append(item.strip())
    return out


def _plan(txn: Txn, plan: str) -> str:
    plan = (plan or "").strip()
    if not plan:
        return ""
    doc = rules_store.current(txn)
    plans = plans_of_rules_text(doc.text) if doc else ()
    if named(plans, plan) is None:
        known = ", ".join(p.name for p in plans) or "none: import a rules file with [[plan]] tables"
        raise AgentError(f"no plan {plan!r} in the commission rules in force; known: {known}")
    return plan


def _date(value, option: str) -> str:
    if not value:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise AgentError(f"{option} must be a date YYYY-MM-DD, got {value!r}") from None


def _today(now: float, tz: str) -> dt.date:
    return dt.datetime.fromtimestamp(now, ZoneInfo(tz)).date()
