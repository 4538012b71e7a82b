"""Agents and leads end to end on a real sim daemon: the `whitecaves` CLI and WhatsApp chat.

A customer's first message is offered to an agent (from the master); no accept
within `accept_timeout_s` (2 s here) hands it to the next; `!accept` takes it;
a photo is relayed to the agent and `!r` goes back from the master; another
agent's deal for the protected customer is refused (and an admin overrides);
an agent whose licence expired cannot close with commission until an admin
closes it `--as-referral`; a plan's agency cap crossed inside one deal splits it
exactly at the cap.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import os

import pytest

from conftest import FAST_CONFIG, Daemon
from daemon_support import poll
from runtime import procs

pytestmark = pytest.mark.slow   # a real daemon end to end: `pytest -m "not slow"` skips it

MASTER, ADMIN = "+971505760056", "+971500000001"
A, B, EXPIRED = "+971500000002", "+971500000003", "+971500000004"   # round robin offers in phone order
CUST, CUST2 = "+971550000009", "+971550000008"
RULES = """
[[rule]]
name = "sale-2pct"
kind = "percentage"
rate = "2"
priority = 1
[rule.scope]
transaction = ["sale"]

[[plan]]
name = "p70"
agent_pct = "70"
agency_cap_per_year = "10000"
"""

wait_for = functools.partial(poll, timeout=30.0)


@pytest.fixture
def agency(home, port, tmp_path):
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(FAST_CONFIG + "\n[leads]\naccept_timeout_s = 2\n")
    d = Daemon(home, port)
    d.start()
    try:
        (tmp_path / "rules.toml").write_text(RULES)
        d.cli("commission", "rules", "import", str(tmp_path / "rules.toml"))
        d.cli("master", "add", MASTER, "--name", "Sales")
        d.cli("link", "master", MASTER)
        d.cli("admin", "add", ADMIN)
        d.cli("agent", "add", A, "--name", "Ali", "--brn", "111", "--brn-expiry", "2099-12-31")
        d.cli("agent", "add", B, "--name", "Bea", "--brn", "222", "--brn-expiry", "2099-12-31", "--plan", "p70")
        added = d.cli("agent", "add", EXPIRED, "--name", "Eve", "--brn", "333", "--brn-expiry", "2020-01-01")
        assert "expired" in added.stderr                  # accepted, with a warning
        d.cli("agent", "duty", EXPIRED, "off")
        yield d
    finally:
        try:
            d.stop()
        finally:
            procs.kill_all(procs.processes_of(home))


def inbox(d, phone):
    return json.loads(d.cli("sim", "inbox", phone, "--json").stdout)


def arrives(d, phone, fragment, what=""):
    """The first message `phone` got that contains `fragment` (waiting for it)."""
    return wait_for(what or f"{fragment!r} to {phone}",
                    lambda: next((m for m in inbox(d, phone) if fragment in m["text"]), None))


def refused(d, *args, code=None) -> str:
    r = d.cli(*args, check=False)
    assert r.returncode != 0 and (code is None or r.returncode == code), f"{args}: {r.returncode} {r.stderr}"
    return r.stderr


def test_a_lead_from_first_message_to_commission(agency, tmp_path):
    d = agency
    assert [a["phone"] for a in d.json("agent", "list") if a["licence_days_left"] < 0] == [EXPIRED]

    # Assignment: offered to A from the master; A lets it time out, so B gets it.
    d.cli("sim", "send", "--from", CUST, "--to", MASTER, "Hi, a villa in JVC?")
    offer = arrives(d, A, "New lead L-000001")
    assert offer["from"] == MASTER and CUST in offer["text"] and "Hi, a villa in JVC?" in offer["text"]
    arrives(d, B, "New lead L-000001", "the accept timeout to hand the lead to B")
    [row] = d.json("leads")
    assert (row["id"], row["customer"], row["master"], row["agent"], row["status"]) == \
        ("L-000001", CUST, MASTER, B, "assigned")

    # Accept, then relay both ways with a photo.
    d.cli("sim", "send", "--from", B, "--to", MASTER, "!accept L-000001")
    arrives(d, B, "Lead L-000001 is yours")
    photo = tmp_path / "view.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + b"jpeg" * 100)
    d.cli("sim", "send", "--from", CUST, "--to", MASTER, "--image", str(photo), "the view from the balcony")
    relayed = arrives(d, B, "the view from the balcony")
    assert relayed["from"] == MASTER and relayed["text"].startswith(f"{CUST}: ")
    arrives(d, B, "[file stored: ", "the stored photo's path relayed")
    d.cli("sim", "send", "--from", B, "--to", MASTER, f"!r {CUST} Lovely, shall we view it tomorrow?")
    answer = arrives(d, CUST, "shall we view it tomorrow?")
    assert answer["from"] == MASTER                       # the agency's number, never B's
    assert not [m for m in inbox(d, CUST) if m["from"] == B]
    assert d.json("leads", "--status", "accepted")[0]["accepted"] is not None

    # First-touch protection: A's deal for B's customer is refused, naming B and the date; an admin overrides.
    deal_args = ("deal", "new", "--agent", A, "--customer", CUST, "--property", "Villa 7, JVC", "--type", "villa",
                 "--transaction", "sale", "--price", "1000000")
    err = refused(d, *deal_args)
    assert f"protected for {B}" in err and "until 20" in err
    assert d.cli(*deal_args, "--override").stdout.strip() == "D-000001"
    assert "D-000001" in refused(d, "agent", "remove", A, code=1)       # an open deal: named

    # Expired licence: refused, then an admin closes it as a referral.
    d.cli("sim", "send", "--from", CUST2, "--to", MASTER, "!ping")     # a command: no lead
    expired_deal = d.cli("deal", "new", "--agent", EXPIRED, "--customer", CUST2, "--property", "Flat 2",
                         "--type", "apartment", "--transaction", "sale", "--price", "500000").stdout.strip()
    assert "expired" in refused(d, "deal", "close", expired_deal)
    assert "closed" in d.cli("deal", "close", expired_deal, "--as-referral").stdout
    [referral] = [x for x in d.json("commission", "ledger") if x["deal"] == expired_deal]
    assert (referral["referral"], referral["commission"], referral["agent_amount"]) == (True, "10000.00", "2500.00")

    # A cap crossed mid-deal: B's plan gives the agency 30 % up to 10,000 a year.
    for n, price in enumerate(("1000000", "1000000"), 1):
        deal = d.cli("deal", "new", "--agent", B, "--customer", CUST, "--property", f"Villa {n}", "--type",
                     "villa", "--transaction", "sale", "--price", price).stdout.strip()
        d.cli("deal", "close", deal)
    lines = [(x["agent_amount"], x["agency_amount"]) for x in d.json("commission", "ledger", "--agent", B)]
    assert lines == [("14000.00", "6000.00"), ("16000.00", "4000.00")]   # 6,000 + 4,000 = the cap exactly
    assert d.json("leads")[0]["status"] == "converted"

    report = {r["agent"]: r for r in d.json("agents", "report")["agents"]}
    assert (report[B]["leads_assigned"], report[B]["accepted"], report[B]["closed"]) == (1, 1, 2)
    assert report[A]["leads_assigned"] == 1 and report[A]["accepted"] == 0
    assert report[B]["median_first_reply_s"] is not None

    # The expired card renewed with `agent edit`: a bad date changes nothing; the new expiry, 10 days
    # away, is checked at once: one licence_expiring alert, in `whitecaves alerts` and to the admin.
    assert "--brn-expiry must be a date" in refused(d, "agent", "edit", EXPIRED, "--brn-expiry", "soon", code=2)
    renewed = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    assert renewed in d.cli("agent", "edit", EXPIRED, "--brn", "334", "--brn-expiry", renewed).stdout
    assert d.json("agent", "show", EXPIRED)["brn"] == "334"
    alert = arrives(d, ADMIN, "Licence expiring", "the renewed card's licence alert to the admin")
    assert f"expires on {renewed}" in alert["text"]
    assert [a["kind"] for a in d.json("alerts") if a["kind"] == "licence_expiring"] == ["licence_expiring"]
