"""Deals and commission end to end: the `whitecaves` CLI and WhatsApp chat against a real sim daemon.

The CLI flow: rules import, deal new, stages, close twice (one earned line),
approval, earnings, payout request and pay (paying again refused), cancel
after close (a clawback), the CSV export; bad input exits 2 and changes
nothing. The chat flow: an agent records, closes, asks for earnings and
payment; an admin approves and pays; a stranger is refused.
"""
from __future__ import annotations

import csv
import functools
import json

import pytest

from chat.dispatch import DENIED
from daemon_support import poll
from agents.chat_commands import AGENTS_ONLY

pytestmark = pytest.mark.slow   # a real daemon end to end: `pytest -m "not slow"` skips it

MASTER, ADMIN, AGENT, STRANGER = "+971505760056", "+971500000001", "+971500000002", "+447700900123"
CUSTOMER = "+971500000009"
RULES = """
[[rule]]
name = "sale-2pct"
kind = "percentage"
rate = "2"
priority = 1
approval_above = "50000"
[rule.scope]
transaction = ["sale"]

[[rule]]
name = "lease-fixed"
kind = "fixed"
amount = "5000"
[rule.scope]
transaction = ["lease"]
"""
BAD_RULES = RULES.replace('amount = "5000"', 'amount = "lots"')

wait_for = functools.partial(poll, timeout=20.0)


def new_deal(d, price: str) -> str:
    return d.cli("deal", "new", "--agent", AGENT, "--customer", CUSTOMER, "--property", "Villa 12, Palm",
                 "--type", "Villa", "--transaction", "sale", "--price", price).stdout.strip()


def refused(d, *args, code: int = 2) -> str:
    r = d.cli(*args, check=False)
    assert r.returncode == code, f"{args}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stderr


@pytest.fixture
def agency(daemon, tmp_path):
    daemon.cli("agent", "add", AGENT, "--name", "Aisha", "--brn", "12345", "--brn-expiry", "2099-12-31")
    (tmp_path / "rules.toml").write_text(RULES)
    (tmp_path / "bad.toml").write_text(BAD_RULES)
    return daemon


def test_the_whole_commission_flow_from_the_cli(agency, tmp_path):
    d = agency
    # Rules: a bad file changes nothing and names the rule and the field.
    err = refused(d, "commission", "rules", "import", str(tmp_path / "bad.toml"))
    assert "lease-fixed" in err and "amount" in err
    assert d.json("commission", "rules") == []
    assert "no commission rule in scope" in refused(d, "commission", "calc", "--price", "2000000", "--type", "villa",
                                                    "--transaction", "sale")
    assert "imported 2 rule(s): sale-2pct, lease-fixed" in \
        d.cli("commission", "rules", "import", str(tmp_path / "rules.toml")).stdout
    assert [r["name"] for r in d.json("commission", "rules")] == ["sale-2pct", "lease-fixed"]
    assert d.json("commission", "calc", "--price", "2000000", "--type", "villa", "--transaction", "sale") == {
        "rule": "sale-2pct", "base": "2000000.00", "commission": "40000.00", "vat": "2000.00",
        "total": "42000.00", "splits": [{"to": "agent", "amount": "40000.00"}], "needs_approval": False}
    assert d.json("commission", "calc", "--price", "80000", "--type", "apartment", "--transaction", "lease",
                  "--date", "2026-03-01")["total"] == "5250.00"
    assert "--date must be YYYY-MM-DD" in refused(d, "commission", "calc", "--price", "1", "--type", "villa",
                                                  "--transaction", "sale", "--date", "01/03/2026")

    # Deals: bad input exits 2 and records nothing.
    assert "is not a registered agent" in refused(d, "deal", "new", "--agent", "+971500000077", "--customer",
                                                  CUSTOMER, "--property", "X", "--type", "villa", "--transaction",
                                                  "sale", "--price", "1000000")
    assert "price must be above 0" in refused(d, "deal", "new", "--agent", AGENT, "--customer", CUSTOMER,
                                              "--property", "X", "--type", "villa", "--transaction", "sale",
                                              "--price", "0")
    assert d.json("deal", "list") == []
    one = new_deal(d, "2,000,000")
    assert one == "D-000001"
    assert "is now offer" in d.cli("deal", "stage", one, "offer").stdout
    refused(d, "deal", "stage", one, "won")                       # click refuses the stage
    assert "no deal 'D-000099'" in refused(d, "deal", "close", "D-000099")

    # Closing twice: one earned line.
    closed = d.cli("deal", "close", one).stdout
    assert "D-000001 is now closed: commission C-000001 40000.00 AED + VAT 2000.00 (sale-2pct), approved" in closed
    again = d.cli("deal", "close", one).stdout
    assert "D-000001 was already closed: nothing changed; its commission line C-000001 stands (approved)" in again
    assert [x["kind"] for x in d.json("commission", "ledger")] == ["earned"]

    # Above the threshold: pending until an admin approves; approving twice is refused.
    two = new_deal(d, "5000000")
    assert "pending approval" in d.cli("deal", "close", two).stdout
    earnings = d.json("commission", "earnings", AGENT)
    assert (earnings["earned"], earnings["balance"]) == ("40000.00", "40000.00")
    assert "approved C-000002" in d.cli("commission", "approve", two).stdout   # by the deal's id
    assert "already approved" in refused(d, "commission", "approve", "C-000002", code=1)
    earnings = d.json("commission", "earnings", AGENT, "--period", "month")
    assert (earnings["earned"], earnings["balance"], earnings["currency"]) == ("140000.00", "140000.00", "AED")

    # Payout: the approved lines at that moment, once.
    request = d.cli("payout", "request", AGENT)
    assert request.stdout.strip() == "P-000001" and "140000.00 for 2 line(s)" in request.stderr
    assert "already has an open payout request P-000001" in refused(d, "payout", "request", AGENT, code=1)
    assert "paid P-000001: 140000.00 to +971500000002" in d.cli("payout", "pay", "P-000001").stdout
    assert "was already paid" in refused(d, "payout", "pay", "P-000001", code=1)
    assert "no approved, unpaid commission" in refused(d, "payout", "request", AGENT, code=1)
    assert [(p["id"], p["status"]) for p in d.json("payout", "list")] == [("P-000001", "paid")]

    # A closed, paid deal cancelled: its commission is clawed back.
    assert "--reason" in refused(d, "deal", "cancel", one)
    assert "needs --reason" in refused(d, "deal", "stage", one, "cancelled")
    cancelled = d.cli("deal", "cancel", one, "--reason", "buyer pulled out").stdout
    assert "D-000001 is now cancelled: commission clawed back, line C-000004 -40000.00 AED" in cancelled
    earnings = d.json("commission", "earnings", AGENT)
    assert (earnings["earned"], earnings["clawbacks"], earnings["paid"], earnings["balance"]) == \
        ("140000.00", "40000.00", "140000.00", "-40000.00")
    shown = d.json("deal", "show", one)
    assert [(x["id"], x["kind"]) for x in shown["lines"]] == [("C-000001", "earned"), ("C-000004", "clawback")]
    assert [h["to"] for h in shown["history"]] == ["lead", "offer", "closed", "cancelled"]
    assert "is now approval" in d.cli("deal", "reopen", one).stdout
    assert [x["id"] for x in d.json("deal", "list", "--stage", "approval")] == [one]

    # The accountant's CSV: every line, amounts as decimal strings.
    out = tmp_path / "ledger.csv"
    assert "wrote 4 line(s)" in d.cli("commission", "export", "--csv", str(out)).stdout
    rows = list(csv.DictReader(out.open()))
    assert [(r["id"], r["kind"], r["status"], r["commission"]) for r in rows] == [
        ("C-000001", "earned", "paid", "40000.00"), ("C-000002", "earned", "paid", "100000.00"),
        ("C-000003", "payout", "paid", "-140000.00"), ("C-000004", "clawback", "approved", "-40000.00")]


def inbox(d, customer):
    return json.loads(d.cli("sim", "inbox", customer, "--json").stdout)


def say(d, sender, text):
    """`sender` writes `text` to MASTER; returns the one answer it gets."""
    before = len(inbox(d, sender))
    d.cli("sim", "send", "--from", sender, "--to", MASTER, text)
    got = wait_for(f"an answer to {text!r}", lambda: (lambda m: m if len(m) > before else None)(inbox(d, sender)))
    return got[before]["text"]


def test_agents_and_admins_over_whatsapp(agency, tmp_path):
    d = agency
    d.cli("master", "add", MASTER, "--name", "Sales")
    d.cli("link", "master", MASTER)
    d.cli("admin", "add", ADMIN)
    d.cli("commission", "rules", "import", str(tmp_path / "rules.toml"))

    new = say(d, AGENT, '!new-deal price=5000000 type=villa transaction=sale customer=+971500000009 '
                        'property="Villa 12, Palm"')
    assert new.startswith("Deal D-000001 recorded at stage lead: D-000001 lead: Villa 12, Palm, villa sale")
    assert say(d, AGENT, "!close-deal D-000001") == (
        "Deal D-000001 is now closed. Commission C-000001: 100000.00 AED + VAT 5000.00 (sale-2pct), "
        "pending approval.")
    assert say(d, AGENT, "!close-deal D-000001").startswith("Deal D-000001 was already closed: nothing changed")
    assert "balance 0.00 AED" in say(d, AGENT, "!my-earnings")                 # pending: not earned yet
    assert say(d, AGENT, "!approve C-000001") == DENIED
    assert say(d, ADMIN, "!approve C-000001").startswith("Approved C-000001 (deal D-000001, +971500000002)")
    assert "balance 100000.00 AED" in say(d, AGENT, "!my-earnings month")
    assert say(d, AGENT, "!request-payment").startswith("Payout request P-000001: 100000.00 AED for 1 line(s)")
    assert say(d, ADMIN, "!pay P-000001") == "Paid P-000001: 100000.00 AED to +971500000002 (ledger line C-000002)."
    assert say(d, ADMIN, "!pay P-000001").startswith("Not done: payout P-000001 was already paid")

    for text in ("!deals", "!my-earnings", "!request-payment", '!new-deal price=1 type=villa transaction=sale '
                 'customer=+971500000009 property=x'):
        assert say(d, STRANGER, text) == AGENTS_ONLY
    assert say(d, STRANGER, "!pay P-000001") == DENIED
    # What chat did, the CLI sees: one deal, paid once.
    assert [(x["id"], x["stage"], x["agent"]) for x in d.json("deal", "list")] == [("D-000001", "closed", AGENT)]
    assert [(x["kind"], x["status"]) for x in d.json("commission", "ledger")] == [("earned", "paid"),
                                                                                 ("payout", "paid")]
