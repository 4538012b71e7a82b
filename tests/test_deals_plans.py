"""deals/book.py close with the agent's licence and plan: the earned line's agent and agency amounts."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest

from agents.registry import add_agent, edit_agent
from deals import accounts, book
from deals.errors import CommissionError
from deals.report import agents_report
from storage import Store

A, R, C = "+971500000001", "+971500000005", "+971550000001"
DUBAI = ZoneInfo("Asia/Dubai")
RULES = ('[[rule]]\nname = "sale-2pct"\nkind = "percentage"\nrate = "2"\n'
         '[[plan]]\nname = "p70"\nagent_pct = "70"\nagency_cap_per_year = "100000"\n')


def at(y, m, d):
    return dt.datetime(y, m, d, 12, tzinfo=DUBAI).timestamp()


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path))
    s.write(lambda t: (book.import_rules(t, RULES),
                       add_agent(t, A, "Ali", brn="1", brn_expiry="2027-12-31", plan="p70", now=at(2026, 1, 1)),
                       add_agent(t, R, "Rae", kind="referrer", now=at(2026, 1, 1))))
    yield s
    s.close()


def close_deal(store, price, when, agent=A, **kw):
    deal = store.write(lambda t: book.new_deal(t, agent, C, "Villa", "villa", "sale", price, now=when, override=True))
    return store.write(lambda t: book.close(t, deal.id, now=when, **kw)).line.line


def test_the_plan_splits_each_close_and_a_cap_crossed_mid_deal_splits_it_at_the_cap(store):
    first = close_deal(store, "15000000", at(2026, 2, 1))     # 300,000: agency 90,000 (30 %)
    assert (first.commission, first.agent_amount, first.agency_amount, first.plan) == \
        (D("300000.00"), D("210000.00"), D("90000.00"), "p70")
    second = close_deal(store, "2500000", at(2026, 3, 1))      # 50,000: 30 % would be 15,000; 10,000 left of the cap
    assert (second.agent_amount, second.agency_amount) == (D("40000.00"), D("10000.00"))
    third = close_deal(store, "1000000", at(2026, 4, 1))       # the cap is reached: 100 % to the agent
    assert (third.agent_amount, third.agency_amount) == (D("20000.00"), D("0.00"))
    next_year = close_deal(store, "1000000", at(2027, 1, 2))   # a new plan year
    assert (next_year.agent_amount, next_year.agency_amount) == (D("14000.00"), D("6000.00"))
    with store.read() as t:
        assert accounts.earnings(t, A, "all", now=at(2027, 1, 3)).earned == D("284000.00")


def test_a_clawback_gives_the_cap_room_back(store):
    first = close_deal(store, "15000000", at(2026, 2, 1))
    store.write(lambda t: book.cancel(t, first.deal, "buyer pulled out", now=at(2026, 2, 2)))
    again = close_deal(store, "2500000", at(2026, 3, 1))
    assert (again.agent_amount, again.agency_amount) == (D("35000.00"), D("15000.00"))


def test_an_expired_licence_is_refused_unless_closed_as_referral(store):
    store.write(lambda t: edit_agent(t, A, brn_expiry="2026-02-28"))
    deal = store.write(lambda t: book.new_deal(t, A, C, "Villa", "villa", "sale", "2000000", now=at(2026, 3, 1)))
    with pytest.raises(CommissionError, match=r"cannot close: \+971500000001 \(Ali\): BRN 1 expired on 2026-02-28, "
                                              r"before the close date 2026-03-01; an admin can close it --as-referral"):
        store.write(lambda t: book.close(t, deal.id, now=at(2026, 3, 1)))
    with store.read() as t:
        assert book.get_deal(t, deal.id).stage == "lead"          # nothing changed
    line = store.write(lambda t: book.close(t, deal.id, now=at(2026, 3, 1), as_referral=True)).line.line
    assert (line.commission, line.agent_amount, line.agency_amount, line.referral) == \
        (D("40000.00"), D("10000.00"), D("30000.00"), True)


def test_a_referrer_is_paid_the_referral_share_and_it_is_outside_the_cap(store):
    line = close_deal(store, "2000000", at(2026, 3, 1), agent=R)
    assert (line.agent_amount, line.agency_amount, line.referral, line.note) == \
        (D("10000.00"), D("30000.00"), True, "referral 25%")
    claw = store.write(lambda t: book.cancel(t, line.deal, "x", now=at(2026, 3, 2))).line.line
    assert (claw.agent_amount, claw.agency_amount, claw.referral) == (D("-10000.00"), D("-30000.00"), True)


def test_the_agents_report_takes_its_commission_from_the_ledger(store):
    close_deal(store, "2500000", at(2026, 3, 1))
    with store.read() as t:
        rows = {f.agent: f.as_json() for f in agents_report(t, "month", now=at(2026, 3, 20))}
    assert rows[A]["commission"] == "35000.00" and (rows[A]["deals"], rows[A]["closed"]) == (1, 1)
    assert rows[R]["commission"] == "0.00"
