"""agents/plans.py: plans validated with the rules file; the split of a commission, cap included."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from agents import plans
from agents.plans import DEFAULT, Plan, split

P70 = Plan("p70", agent_pct=D("70"), agency_cap_per_year=D("100000"))


def test_plans_parse_with_defaults_and_every_fault_named():
    got, problems = plans.parse_plans([{"name": "p", "agent_pct": "70"},
                                       {"name": "c", "agent_pct": 80, "agency_cap_per_year": "50,000",
                                        "cap_year_start": "start", "referral_pct": "30"}])
    assert problems == []
    assert got == (Plan("p", D("70")), Plan("c", D("80"), D("50000"), "start", D("30")))
    _, problems = plans.parse_plans([{"agent_pct": "70"}, {"name": "x", "agent_pct": 70.5, "colour": 1},
                                     {"name": "y", "agent_pct": "70", "cap_year_start": "04-01",
                                      "agency_cap_per_year": "0", "referral_pct": "101"},
                                     {"name": "z", "agent_pct": "1"}, {"name": "z", "agent_pct": "2"}])
    assert "plan #1: name: required, a non-empty string" in problems
    assert 'plan "x": colour: unknown field; known: name, agent_pct, agency_cap_per_year, cap_year_start, ' \
           'referral_pct' in problems
    assert any(p.startswith('plan "x": agent_pct: it must be a decimal string') for p in problems)
    assert any(p.startswith('plan "y": cap_year_start: must be "01-01"') for p in problems)
    assert 'plan "y": agency_cap_per_year: must be above 0 (or "" for no cap), got 0' in problems
    assert any(p.startswith('plan "y": referral_pct: must be between 0 and 100') for p in problems)
    assert 'plan "z": name: another plan has the same name' in problems


def test_no_plan_keeps_100_percent_and_a_plan_splits_rounded_once():
    assert split(D("40000.00"), DEFAULT) == plans.Split(D("40000.00"), D("0.00"))
    assert split(D("40000.00"), Plan("p", D("70"))) == plans.Split(D("28000.00"), D("12000.00"))
    # 0.01 at 70/30: the agency's 0.003 rounds to 0.00, the agent keeps the cent; halves round up
    assert split(D("0.01"), Plan("p", D("70"))) == plans.Split(D("0.01"), D("0.00"))
    assert split(D("0.05"), Plan("p", D("70"))) == plans.Split(D("0.03"), D("0.02"))


def test_a_cap_crossed_inside_a_deal_splits_it_exactly_at_the_cap():
    # the agency had 90,000 of its 100,000; 30 % of 50,000 would be 15,000: it gets the 10,000 left
    assert split(D("50000.00"), P70, D("90000.00")) == plans.Split(D("40000.00"), D("10000.00"))
    assert split(D("50000.00"), P70, D("100000.00")) == plans.Split(D("50000.00"), D("0.00"))
    assert split(D("50000.00"), P70, D("120000.00")) == plans.Split(D("50000.00"), D("0.00"))
    assert split(D("10000.00"), P70, D("0")) == plans.Split(D("7000.00"), D("3000.00"))


def test_referral_pays_its_percent_of_the_commission():
    assert plans.referral(D("40000.00"), DEFAULT) == plans.Split(D("10000.00"), D("30000.00"))
    assert plans.referral(D("100.01"), Plan("p", D("70"), referral_pct=D("30"))) == plans.Split(D("30.00"), D("70.01"))


def test_the_plan_year_starts_on_1_january_or_at_the_agents_anniversary():
    start = dt.date(2024, 2, 29)
    assert plans.year_start(P70, start, dt.date(2026, 5, 1)) == dt.date(2026, 1, 1)
    by_start = Plan("s", D("70"), cap_year_start="start")
    assert plans.year_start(by_start, start, dt.date(2026, 5, 1)) == dt.date(2026, 2, 28)
    assert plans.year_start(by_start, start, dt.date(2026, 2, 1)) == dt.date(2025, 2, 28)
    assert plans.year_start(by_start, dt.date(2026, 3, 10), dt.date(2026, 3, 12)) == dt.date(2026, 3, 10)


cents = st.integers(min_value=0, max_value=10**11).map(lambda n: D(n) / 100)
pcts = st.integers(min_value=0, max_value=10000).map(lambda n: D(n) / 100)
caps = st.one_of(st.none(), st.integers(min_value=1, max_value=10**9).map(lambda n: D(n) / 100))


@given(cents, pcts, caps, cents)
def test_shares_always_sum_to_the_commission_and_the_agency_never_passes_its_cap(commission, pct, cap, so_far):
    s = split(commission, Plan("p", pct, cap), so_far)
    assert s.agent + s.agency == commission
    assert s.agent >= 0 and s.agency >= 0
    assert s.agency == s.agency.quantize(D("0.01")) and s.agent == s.agent.quantize(D("0.01"))
    if cap is not None:
        assert s.agency <= max(D(0), cap - so_far)


@given(cents, pcts, caps, cents, cents)
def test_more_history_in_the_year_never_gives_the_agency_more(commission, pct, cap, a, b):
    low, high = sorted((a, b))
    plan = Plan("p", pct, cap)
    assert split(commission, plan, high).agency <= split(commission, plan, low).agency


@given(st.lists(cents, max_size=12), pcts, caps)
def test_deal_after_deal_the_agency_total_stops_exactly_at_the_cap(deals, pct, cap):
    plan, total = Plan("p", pct, cap), D("0.00")
    for commission in deals:
        total += split(commission, plan, total).agency
    if cap is not None:
        uncapped = sum((split(c, Plan("p", pct)).agency for c in deals), D("0.00"))
        assert total == min(cap, uncapped)
