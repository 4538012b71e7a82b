"""The agents and leads gateway commands (agents/commands.py, deals/agent_commands.py) on a real store.

A small stand-in gateway gives them what actors/gateway.py gives: the store,
the config, a balancer to poke and the accept timer to re-arm.
"""
from __future__ import annotations

import re

import pytest

from agents import commands as ac
from commands.registry import CommandError
from deals import agent_commands
from deals import commands as dc
from runtime.config import Config, Leads
from storage import Store, admins, conversations, outbox

A, B, ADMIN, CUST, M = "+971500000001", "+971500000002", "+971500000099", "+971550000001", "+971400000001"


class Gateway:
    def __init__(self, store):
        self.store, self.cfg = store, Config(leads=Leads(accept_timeout_s=60))
        self.pokes = self.armed = 0

    def poke_balancer(self, reason):
        self.pokes += 1

    def arm_leads(self):
        self.armed += 1


@pytest.fixture
def gw(tmp_path):
    with Store(str(tmp_path)) as store:
        g = Gateway(store)
        dc.agent_add(g, A, "Ali", brn="1", brn_expiry="2099-01-01")
        dc.agent_add(g, B, "Bea")
        store.write(lambda t: [admins.add(t, ADMIN), conversations.add_message(
            t, conversations.Message(CUST, M, "in", "hello", 1.0))])
        yield g


def test_list_and_show_mark_licences(gw):
    rows = {r["phone"]: r for r in ac.agent_list(gw)}
    assert rows[A]["licence_days_left"] > 30 and not rows[A]["licence_expiring"]
    assert ac.agent_show(gw, A)["leads"] == []
    with pytest.raises(CommandError, match="is not an agent"):
        ac.agent_show(gw, "+971500000077")


def test_lead_open_offers_queues_and_rearms_then_remove_is_refused_naming_it(gw):
    lead = ac.lead_open(gw, CUST, text="villa")
    assert (lead["id"], lead["status"], lead["agent"], lead["master"]) == ("L-000001", "assigned", A, M)
    assert gw.pokes == 1 and gw.armed == 1
    with gw.store.read() as t:
        [offer] = [e for e in outbox.all(t) if e.kind == "lead"]
    assert (offer.to, offer.master) == (A, M)
    with pytest.raises(CommandError, match="already has lead L-000001") as e:
        ac.lead_open(gw, CUST)
    assert e.value.code == 1
    with pytest.raises(CommandError, match="L-000001") as e:
        ac.agent_remove(gw, A)
    assert e.value.code == 1 and [r["phone"] for r in ac.agent_list(gw)] == [A, B]
    assert ac.lead_list(gw, agent=A)[0]["id"] == "L-000001" and ac.lead_list(gw, status="waiting") == []
    with pytest.raises(CommandError, match="unknown status"):
        ac.lead_list(gw, status="nope")


def test_assign_moves_protection_and_the_override(gw):
    assert ac.lead_assign(gw, CUST, B)["agent"] == B
    args = (CUST, "Villa 1", "villa", "sale", "1000000")
    with pytest.raises(CommandError, match=re.escape(f"protected for {B}")):
        dc.deal_new(gw, A, *args)
    assert dc.deal_new(gw, A, *args, override=True)["agent"] == A
    assert dc.deal_new(gw, B, *args)["agent"] == B


def test_duty_off_then_on_offers_the_waiting_lead(gw):
    ac.agent_duty(gw, A, "off")
    ac.agent_duty(gw, B, "off")
    assert ac.lead_open(gw, CUST)["status"] == "waiting"
    assert ac.agent_duty(gw, B, "on")["offered"] == ["L-000001"]
    with pytest.raises(CommandError, match="on or off"):
        ac.agent_duty(gw, B, "maybe")


def test_agents_report_and_bad_period(gw):
    ac.lead_open(gw, CUST)
    report = agent_commands.report(gw, "month")
    assert {r["agent"]: r["leads_assigned"] for r in report["agents"]} == {A: 1, B: 0}
    with pytest.raises(CommandError, match="unknown period"):
        agent_commands.report(gw, "week")
