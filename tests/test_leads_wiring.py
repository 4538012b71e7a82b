"""Leads wired into the inbound rule and the chat commands, on a real store, as the session runs them.

A customer's first message opens a lead and queues the offer to the agent (from
the master) in the same transaction; the agent answers over chat (`!accept`,
`!pass`, `!r`, ...) by messaging the master; the customer's later messages are
relayed; failover keeps the relay (the conversation's owner sends).
"""
from __future__ import annotations

import pytest

from agents import timers
from agents.inbound import on_customer_message, on_media_stored
from agents.registry import add_agent
from conversations.inbound import Rules, handle_inbound
from runtime.config import Chat, Config, Leads
from storage import Store, admins, conversations, events, outbox
from storage import leads as leads_store
from transports import events as ev

M, M2 = "+971400000001", "+971400000002"
A, B = "+971500000001", "+971500000002"
ADMIN, CUST, STRANGER = "+971500000099", "+971550000001", "+971550000077"
T0 = 1_780_000_000.0
SETTINGS = Leads(accept_timeout_s=60)
CONFIG = Config(leads=SETTINGS)
_ids = iter(range(1, 10_000))


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path))
    s.write(lambda t: [add_agent(t, A, "Ali", brn="1", brn_expiry="2099-01-01", now=T0),
                       add_agent(t, B, "Bea", brn="2", brn_expiry="2099-01-01", now=T0),
                       admins.add(t, ADMIN)])
    yield s
    s.close()


def say(store, sender, text, ts, master=M, kind="text", msg_id=None):
    """`sender` writes `text` to `master`, handled as the session does (one transaction)."""
    event = ev.Inbound(msg_id or f"W-{next(_ids)}", sender, text, ts, kind=kind)
    rules = Rules(now=ts, leads=lambda txn, mas, cus, msg, first: on_customer_message(txn, mas, cus, msg, first, ts,
                                                                                      SETTINGS))
    return store.write(lambda t: handle_inbound(t, master, [event], Chat(), rules, CONFIG))


def entries(store, to=None, kind=None):
    with store.read() as t:
        return [e for e in outbox.all(t) if (to is None or e.to == to) and (kind is None or e.kind == kind)]


def lead_of(store, customer=CUST):
    with store.read() as t:
        return leads_store.of_customer(t, customer)[-1]


def test_first_message_opens_a_lead_and_offers_it_from_the_master_once(store):
    event = ev.Inbound("W-first", CUST, "Hi, a villa in JVC?", T0)
    rules = Rules(now=T0, leads=lambda txn, mas, cus, msg, first: on_customer_message(txn, mas, cus, msg, first, T0))
    store.write(lambda t: handle_inbound(t, M, [event], Chat(), rules))
    [offer] = entries(store, kind="lead")
    lead = lead_of(store)
    assert (offer.to, offer.master, lead.status, lead.agent) == (A, M, "assigned", A)
    assert CUST in offer.text and "Hi, a villa in JVC?" in offer.text and f"!accept {lead.id}" in offer.text
    store.write(lambda t: handle_inbound(t, M, [event], Chat(), rules))    # redelivered: nothing new
    assert len(entries(store, kind="lead")) == 1
    say(store, CUST, "still there?", T0 + 5)                               # not a first message: no new lead
    with store.read() as t:
        assert len(leads_store.all(t)) == 1


def test_a_command_first_message_and_an_agents_message_open_no_lead(store):
    say(store, CUST, "!help", T0)
    say(store, A, "hello", T0)
    with store.read() as t:
        assert leads_store.all(t) == []


def test_nobody_on_duty_tells_the_admins_and_the_lead_waits(store):
    say(store, A, "!duty off", T0)
    say(store, B, "!duty off", T0)
    say(store, CUST, "anyone?", T0 + 1)
    assert lead_of(store).status == "waiting"
    [told] = entries(store, to=ADMIN, kind="lead")
    assert "waits" in told.text
    say(store, B, "!duty on", T0 + 2)                                     # an agent comes back: offered to B
    assert lead_of(store).agent == B and len(entries(store, to=B, kind="lead")) == 1


def test_accept_relays_both_ways_from_the_master_and_records_the_agent(store):
    say(store, CUST, "Hi, a villa?", T0)
    lead = lead_of(store)
    say(store, CUST, "budget 3M", T0 + 1)                                 # before the accept: waits, not relayed
    assert entries(store, to=A, kind="relay") == []
    say(store, A, f"!accept {lead.id}", T0 + 2)
    [answer] = [e for e in entries(store, to=A, kind="reply") if "yours" in e.text]
    assert "budget 3M" in answer.text                                      # what came meanwhile goes with it
    say(store, CUST, "[photo] the view", T0 + 3, kind="photo")
    [fwd] = entries(store, to=A, kind="relay")
    assert (fwd.text, fwd.master) == (f"{CUST}: [photo] the view", M)
    say(store, A, f"!r {CUST} Sure, viewing tomorrow?", T0 + 4)
    [out] = entries(store, to=CUST, kind="relay")
    assert (out.text, out.master) == ("Sure, viewing tomorrow?", M)        # from the master, never from A
    with store.read() as t:
        last = conversations.messages(t, CUST)[-1]
        assert (last.direction, last.author, last.by, last.text) == ("out", "human", A, "Sure, viewing tomorrow?")
        assert leads_store.get(t, lead.id).first_reply_ts is not None     # the funnel's time to first reply
    say(store, A, f"!r {lead.id.lower()} and by id", T0 + 5)
    assert [e.text for e in entries(store, to=CUST, kind="relay")][-1] == "and by id"
    store.write(lambda t: on_media_stored(t, CUST, "W-x", "/home/media/abc.jpg"))
    assert entries(store, to=A, kind="relay")[-1].text == f"{CUST}: [file stored: /home/media/abc.jpg]"


def test_failover_keeps_the_relay_through_the_new_master(store):
    say(store, CUST, "Hi", T0)
    say(store, A, f"!accept {lead_of(store).id}", T0 + 1)

    def handed(t):
        conv = conversations.get(t, CUST)
        conv.master, conv.handed_from = M2, M
        conversations.put(t, conv)
    store.write(handed)
    say(store, CUST, "hello again", T0 + 2, master=M2)
    assert entries(store, to=A, kind="relay")[-1].master == M2
    say(store, A, f"!r {CUST} here", T0 + 3, master=M)                    # the agent may write to any master
    assert entries(store, to=CUST, kind="relay")[-1].master == M2


def test_pass_hands_on_and_refusals_change_nothing(store):
    say(store, CUST, "Hi", T0)
    lead = lead_of(store)
    say(store, B, f"!accept {lead.id}", T0 + 1)
    assert "not offered to you" in entries(store, to=B, kind="reply")[-1].text and lead_of(store).status == "assigned"
    say(store, A, f"!r {CUST} hi", T0 + 1)
    assert "no accepted lead" in entries(store, to=A, kind="reply")[-1].text and not entries(store, to=CUST,
                                                                                             kind="relay")
    say(store, A, f"!pass {lead.id}", T0 + 2)
    assert lead_of(store).agent == B and len(entries(store, to=B, kind="lead")) == 1
    say(store, STRANGER, "!leads", T0 + 3)       # a customer who is no agent: refused, recorded
    assert "agents" in entries(store, to=STRANGER, kind="reply")[-1].text
    with store.read() as t:
        assert events.recent(t, kinds=("agent_denied",))


def test_leads_register_and_my_deals(store):
    say(store, CUST, "Hi", T0)
    say(store, A, "!leads", T0 + 1)
    assert f"{lead_of(store).id} assigned: {CUST}" in entries(store, to=A, kind="reply")[-1].text
    say(store, B, "!register-lead +971550000002", T0 + 2)
    assert "registered to you" in entries(store, to=B, kind="reply")[-1].text
    say(store, A, "!register-lead +971550000002", T0 + 3)
    assert "Not done" in entries(store, to=A, kind="reply")[-1].text
    say(store, B, "!my-deals", T0 + 4)
    assert "No deals yet" in entries(store, to=B, kind="reply")[-1].text


def test_accept_timeout_hands_on_and_the_timer_looks_again_at_the_deadline(store):
    say(store, CUST, "Hi", T0)
    with store.read() as t:
        assert timers.next_in(t, T0 + 10, SETTINGS) == pytest.approx(50)
    assert store.write(lambda t: timers.expire_due(t, T0 + 59, SETTINGS)) == 0
    assert store.write(lambda t: timers.expire_due(t, T0 + 60, SETTINGS)) == 1
    assert lead_of(store).agent == B
    assert store.write(lambda t: timers.expire_due(t, T0 + 60, SETTINGS)) == 0   # run twice: handed on once
    store.write(lambda t: timers.expire_due(t, T0 + 121, SETTINGS))              # B too: it waits, admins told
    assert lead_of(store).status == "waiting" and entries(store, to=ADMIN, kind="lead")
    with store.read() as t:
        assert timers.next_in(t, T0 + 200, SETTINGS) == SETTINGS.accept_timeout_s   # nothing offered: a tick


def test_licence_alerts_go_to_the_admins_once(store):
    import datetime as dt
    expiry = (dt.date.fromtimestamp(T0) + dt.timedelta(days=30)).isoformat()
    store.write(lambda t: add_agent(t, "+971500000003", "Cy", brn="3", brn_expiry=expiry, now=T0))
    assert store.write(lambda t: timers.licence_due(t, T0)) == 1
    assert store.write(lambda t: timers.licence_due(t, T0)) == 0
    [alert] = entries(store, to=ADMIN, kind="alert")
    assert "Cy" in alert.text or "+971500000003" in alert.text


def test_an_agency_without_agents_opens_no_leads(tmp_path):
    with Store(str(tmp_path / "bare")) as bare:
        bare.write(lambda t: admins.add(t, ADMIN))
        say(bare, CUST, "Hi", T0)
        with bare.read() as t:
            assert leads_store.all(t) == [] and [e.kind for e in outbox.all(t)] == []
