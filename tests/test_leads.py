"""Leads on a real store: assignment by strategy, accept, pass, timeout, waiting, protection, relay, funnel."""
from __future__ import annotations

import pytest

from agents import desk, relay
from agents.assign import choose
from agents.errors import LeadError
from agents.funnel import funnel
from agents.registry import add_agent, set_duty
from deals import book
from deals.errors import DealError
from runtime.config import Leads
from storage import Store
from storage import conversations
from storage.agents import Agent

A, B, C = "+971500000001", "+971500000002", "+971500000003"
CUST, CUST2, M = "+971550000001", "+971550000002", "+971400000001"
T0 = 1_780_000_000.0
DAY = 86400


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path))
    s.write(lambda t: [add_agent(t, p, n, brn=str(i), brn_expiry="2099-01-01", regions=r, specialties=sp, now=T0)
                       for i, (p, n, r, sp) in enumerate([(A, "Ali", "Marina", "lease"), (B, "Bea", "JVC", ""),
                                                          (C, "Cy", "Palm Jumeirah", "off_plan")])])
    yield s
    s.close()


def do(store, fn, *args, **kw):
    return store.write(lambda t: fn(t, *args, **kw))


def write(store, customer, text, ts):
    do(store, conversations.add_message, conversations.Message(customer, M, "in", text, ts))
    return do(store, desk.on_first_message, customer, M, text, ts, Leads())


def test_round_robin_least_open_and_region_choices():
    team = [Agent(A, "a", regions=["Dubai Marina"]), Agent(B, "b", specialties=["lease"]), Agent(C, "c")]
    assert choose("round_robin", team, "", {}, cursor="") == A
    assert choose("round_robin", team, "", {}, cursor=A) == B
    assert choose("round_robin", team, "", {}, cursor=C) == A           # wraps
    assert choose("least_open", team, "", {A: 2, B: 1, C: 1}, cursor=B) == C
    assert choose("region", team, "a flat in DUBAI marina?", {}, cursor=A) == A   # only A matches
    assert choose("region", team, "anything to LEASE", {}, cursor="") == B
    # "leased" is not "lease", "Marina" alone is not "Dubai Marina": no match, so all on duty, in turn
    assert choose("region", team, "leased already, buying in Marina", {}, cursor=A) == B
    assert choose("round_robin", team, "", {}, cursor="", declined=(A, B, C)) is None
    assert choose("round_robin", [Agent(A, "a", on_duty=False)], "", {}) is None


def test_a_first_message_opens_a_lead_offered_with_its_message(store):
    moved = write(store, CUST, "Hi, a villa on Palm Jumeirah?", T0)
    assert (moved.lead.id, moved.lead.status, moved.lead.agent) == ("L-000001", "assigned", A)
    note = moved.notices[0]
    assert note.to == A and CUST in note.text and "Palm Jumeirah" in note.text and "!accept L-000001" in note.text
    assert write(store, CUST, "again", T0 + 1) is None                  # one live lead per customer
    assert do(store, desk.on_first_message, B, M, "I am an agent", T0) is None
    assert write(store, CUST2, "hello", T0 + 2).lead.agent == B         # round robin


def test_accept_pass_and_timeout_hand_the_lead_on_then_it_waits(store):
    lead = write(store, CUST, "hi", T0).lead
    with pytest.raises(LeadError, match="not offered to you"):
        do(store, desk.accept, lead.id, B, T0 + 1)
    moved = do(store, desk.pass_lead, lead.id, A, T0 + 2)
    assert (moved.lead.agent, moved.notices[0].to) == (B, B)
    settings = Leads(accept_timeout_s=900)
    with store.read() as t:
        assert desk.next_deadline(t, settings) == T0 + 2 + 900
    assert do(store, desk.expire, T0 + 2 + 899, settings) == []
    [moved] = do(store, desk.expire, T0 + 2 + 900, settings)
    assert moved.lead.agent == C
    [moved] = do(store, desk.expire, T0 + 2 + 1800, settings)
    assert (moved.lead.status, moved.lead.agent, moved.notices[0].to) == ("waiting", None, None)
    assert [h.why for h in moved.lead.history] == ["assigned", "passed", "assigned", "timeout", "assigned",
                                                    "timeout", "waiting"]
    assert do(store, desk.expire, T0 + 9999, settings) == []       # a waiting lead does not time out


def test_nobody_on_duty_means_waiting_until_an_agent_comes(store):
    for p in (A, B, C):
        do(store, set_duty, p, "off")
    moved = write(store, CUST, "hi", T0)
    assert moved.lead.status == "waiting" and moved.notices[0].to is None and "no agent on duty" in moved.notices[0].text
    do(store, set_duty, B, "on")
    [again] = do(store, desk.offer_waiting, T0 + 5)
    assert (again.lead.status, again.lead.agent) == ("assigned", B)
    assert do(store, desk.accept, again.lead.id, B, T0 + 60).status == "accepted"


def test_relay_goes_to_the_accepting_agent_and_r_resolves_its_target(store):
    lead = write(store, CUST, "hi", T0).lead
    with store.read() as t:
        assert relay.agent_for(t, CUST) is None                         # not accepted yet: messages wait
    do(store, desk.accept, lead.id, A, T0 + 30)
    with store.read() as t:
        assert relay.agent_for(t, CUST).agent == A
        assert relay.resolve(t, A, "l-1").customer == CUST
        assert relay.resolve(t, A, "+971 55 000 0001").id == lead.id
        with pytest.raises(LeadError, match="not yours to answer"):
            relay.resolve(t, B, lead.id)
        with pytest.raises(LeadError, match="neither a lead id"):
            relay.resolve(t, A, "bob")
    assert relay.split_reply("L-000001  Hello there ") == ("L-000001", "Hello there")
    with pytest.raises(LeadError, match="usage"):
        relay.split_reply("L-000001")
    assert do(store, desk.replied, A, lead.id, T0 + 90).first_reply_ts == T0 + 90
    assert do(store, desk.replied, A, CUST, T0 + 200).first_reply_ts == T0 + 90
    assert relay.forward_text(CUST, "Sara", "photo.jpg") == f"Sara ({CUST}): photo.jpg"


def test_first_touch_protects_the_accepting_agent_until_a_date(store):
    do(store, book.import_rules, '[[rule]]\nname = "r"\nkind = "percentage"\nrate = "2"\n')
    lead = write(store, CUST, "hi", T0).lead
    do(store, desk.accept, lead.id, A, T0 + 10)
    with pytest.raises(DealError, match=rf"\{CUST} is protected for \{A} \(first touch, lead L-000001\) until "
                                        r"2026-06-28; an admin can reassign"):
        do(store, book.new_deal, B, CUST, "Villa", "villa", "sale", "1000000", now=T0 + DAY)
    with store.read() as t:
        assert desk.may_deal(t, B, CUST, T0 + 10 + 30 * DAY) is None    # it ends after protection_days
        assert desk.may_deal(t, B, CUST, T0 + 30 * DAY) is not None
    override = do(store, book.new_deal, B, CUST, "Villa", "villa", "sale", "1000000", now=T0 + DAY, override=True)
    assert override.agent == B
    deal = do(store, book.new_deal, A, CUST, "Villa", "villa", "sale", "1000000", now=T0 + DAY)
    with store.read() as t:
        assert [x.status for x in desk.list_leads(t, agent=A)] == ["converted"]
        assert desk.list_leads(t, agent=A)[0].deal == deal.id
    with pytest.raises(LeadError, match="is protected for"):
        do(store, desk.register, CUST, B, T0 + 2 * DAY)
    assert do(store, desk.assign_customer, CUST, B, by="+971509999999", now=T0 + 3 * DAY).agent == B
    assert do(store, book.new_deal, B, CUST, "Flat", "apartment", "lease", "90000", now=T0 + 3 * DAY).agent == B
    assert do(store, desk.register, CUST2, C, T0).status == "accepted"
    with store.read() as t:
        assert desk.may_deal(t, A, CUST2, T0 + 1).startswith(f"{CUST2} is protected for {C}")


def test_the_funnel_counts_offers_accepts_medians_deals_and_commission(store):
    first = write(store, CUST, "hi", T0).lead
    do(store, desk.accept, first.id, A, T0 + 60)
    do(store, desk.replied, A, first.id, T0 + 160)
    second = write(store, CUST2, "hi", T0 + 100).lead                  # offered to B, who passes; then C
    do(store, desk.pass_lead, second.id, B, T0 + 110)
    with store.read() as t:
        leads, = [desk.list_leads(t)]
    f = funnel(A, leads, [], 0, T0, T0 + DAY)
    assert (f.leads_assigned, f.accepted, f.median_accept_s, f.median_first_reply_s) == (1, 1, 60, 100)
    assert funnel(B, leads, [], 0, T0, T0 + DAY).leads_assigned == 1
    assert funnel(B, leads, [], 0, T0, T0 + DAY).accepted == 0
    assert funnel(A, leads, [], 0, T0 + DAY, T0 + 2 * DAY).leads_assigned == 0   # outside the period
