"""agents/registry.py and agents/licence.py on a real store: agents checked, duty, removal, licence alerts."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from agents import licence, registry
from agents.errors import AgentError
from deals import book
from storage import Store
from storage import agents as agents_store
from storage.codec import encode

A, B, C = "+971500000001", "+971500000002", "+971500000009"
DUBAI = ZoneInfo("Asia/Dubai")
NOW = dt.datetime(2026, 5, 1, 12, tzinfo=DUBAI).timestamp()
PLANS = '[[plan]]\nname = "p70"\nagent_pct = "70"\n'


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path))
    yield s
    s.close()


def do(store, fn, *args, **kw):
    return store.write(lambda t: fn(t, *args, **kw))


def test_an_agent_is_added_with_every_field_checked(store):
    do(store, book.import_rules, PLANS)
    added = do(store, registry.add_agent, "+971 50 000 0001", " Ali ", kind="freelancer", brn="12345",
               brn_expiry="2027-01-31", regions="Marina, JVC,marina", specialties=["sale"], plan="p70", now=NOW)
    assert added.warnings == ()
    with store.read() as t:
        a = agents_store.get(t, A)
    assert (a.name, a.kind, a.brn, a.brn_expiry, a.regions, a.specialties, a.plan, a.on_duty, a.start_date) == \
        ("Ali", "freelancer", "12345", "2027-01-31", ["Marina", "JVC"], ["sale"], "p70", True, "2026-05-01")
    for kwargs, why in (({"kind": "boss"}, "unknown kind 'boss'; one of employee, freelancer, referrer"),
                        ({"brn": "123"}, "--brn and --brn-expiry go together"),
                        ({"brn": "1 2", "brn_expiry": "2027-01-01"}, "--brn must be the card's number"),
                        ({"brn": "1", "brn_expiry": "31/01/2027"}, "--brn-expiry must be a date YYYY-MM-DD"),
                        ({"regions": "Marina,,JVC"}, "--regions: a comma-separated list"),
                        ({"plan": "p80"}, "no plan 'p80' in the commission rules in force; known: p70")):
        with pytest.raises(AgentError, match=why):
            do(store, registry.add_agent, B, "Bea", **kwargs)
    with pytest.raises(AgentError, match="is not a phone number"):
        do(store, registry.add_agent, "050 123", "Bea")
    with pytest.raises(AgentError, match=r"\+971500000001 is already an agent"):
        do(store, registry.add_agent, A, "Again")
    with store.read() as t:
        assert [x.phone for x in agents_store.all(t)] == [A]   # nothing half-written


def test_an_expired_or_missing_card_is_accepted_with_a_warning(store):
    expired = do(store, registry.add_agent, A, "Ali", brn="1", brn_expiry="2026-04-30", now=NOW)
    assert "expired on 2026-04-30" in expired.warnings[0]
    assert "no BRN" in do(store, registry.add_agent, B, "Bea", now=NOW).warnings[0]
    assert do(store, registry.add_agent, C, "Cy", kind="referrer", now=NOW).warnings == ()
    renewed = do(store, registry.edit_agent, A, brn_expiry="2027-04-30", now=NOW)
    assert renewed.warnings == () and renewed.agent.brn == "1"


def test_an_issue_16_record_still_reads_as_an_employee_on_duty(store):
    store.write(lambda t: t.raw.put(A.encode(), encode({"phone": A, "name": "Old", "added_ts": NOW}),
                                    db=t.store.dbs["agents"]))
    with store.read() as t:
        a = registry.get_agent(t, A)
    assert (a.kind, a.brn, a.plan, a.on_duty, a.regions) == ("employee", "", "", True, [])
    assert registry.agent_json(a, NOW)["start_date"] == "2026-05-01"


def test_duty_and_removal_refused_while_holding_leads_or_open_deals(store):
    from agents import desk
    do(store, registry.add_agent, A, "Ali", brn="1", brn_expiry="2027-01-01", now=NOW)
    assert do(store, registry.set_duty, A, "off").on_duty is False
    assert do(store, registry.set_duty, A, "ON").on_duty is True
    with pytest.raises(AgentError, match="duty is on or off"):
        do(store, registry.set_duty, A, "maybe")
    lead = do(store, desk.on_first_message, C, "+971400000001", "hi", NOW).lead
    do(store, book.import_rules, '[[rule]]\nname = "r"\nkind = "percentage"\nrate = "2"\n')
    deal = do(store, book.new_deal, A, "+971500000008", "Villa 1", "villa", "sale", "1000000", now=NOW)
    with pytest.raises(AgentError, match=rf"still holds leads {lead.id} and open deals {deal.id}"):
        do(store, registry.remove_agent, A)
    do(store, desk.pass_lead, lead.id, A, NOW + 1)
    do(store, book.cancel, deal.id, "test")
    assert do(store, registry.remove_agent, A).phone == A
    with pytest.raises(AgentError, match="is not an agent"):
        do(store, registry.remove_agent, A)


def test_licence_valid_on_the_close_date_and_expiring_within_30_days():
    day = dt.date(2026, 5, 1)
    a = agents_store.Agent(A, "Ali", brn="1", brn_expiry="2026-05-01")
    assert licence.check(a, day) is None                       # the expiry day itself is valid
    assert "expired on 2026-05-01, before the close date 2026-05-02" in licence.check(a, day + dt.timedelta(1))
    assert "has no BRN" in licence.check(agents_store.Agent(B, "Bea"), day)
    assert "is a referrer" in licence.check(agents_store.Agent(C, "Cy", kind="referrer"), day)
    soon = agents_store.Agent(B, "Bea", brn="2", brn_expiry="2026-05-31")
    later = agents_store.Agent(C, "Cy", brn="3", brn_expiry="2026-06-01")
    assert [(x.phone, n) for x, n in licence.expiring([later, soon, a], day)] == [(A, 0), (B, 30)]


def test_licence_alerts_go_at_30_and_7_days_once_each(store):
    do(store, registry.add_agent, A, "Ali", brn="1", brn_expiry="2026-06-30", now=NOW)
    day = lambda d: dt.datetime(2026, 5, d, 9, tzinfo=DUBAI).timestamp() if d <= 31 else \
        dt.datetime(2026, 6, d - 31, 9, tzinfo=DUBAI).timestamp()  # noqa: E731
    sent = []
    for d in range(1, 62):   # 1 May .. 30 June, checked daily and twice a day
        for _ in range(2):
            sent += [(dt.datetime.fromtimestamp(day(d), DUBAI).date().isoformat(), n)
                     for _, n, _ in do(store, registry.licence_alerts, day(d))]
    assert sent == [("2026-05-31", 30), ("2026-06-23", 7)]
    do(store, registry.edit_agent, A, brn_expiry="2026-07-05")   # renewed: warned about afresh, the 7-day only
    assert [n for _, n, _ in do(store, registry.licence_alerts, day(60))] == [7]
