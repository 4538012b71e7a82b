"""Deal, ledger, payout, rules and agent records on a real LMDB store: round trips, append-only, ids."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from deals import book
from deals.errors import RuleError
from storage import Store, agents, commission_rules, deals, ledger, payouts, records
from storage.env import CorruptRecord

A = "+971500000001"


def deal(txn, **kw) -> deals.Deal:
    fields = dict(id=deals.new_id(txn), customer="+971500000009", agent=A, property="Villa 12, Palm",
                  property_type="villa", transaction="sale", price=D("2000000.50"), project="Palm Views",
                  history=(deals.StageChange(at=1.0, by=A, from_stage=None, to_stage="lead"),))
    fields.update(kw)
    return deals.Deal(**fields)


def line(txn, **kw) -> ledger.Line:
    fields = dict(id=ledger.new_id(txn), kind="earned", agent=A, deal="D-000001", rule="sale-2pct",
                  commission=D("40000.01"), vat=D("2000.00"), agent_amount=D("40000.01"), status="approved", ts=5.0)
    fields.update(kw)
    return ledger.Line(**fields)


def test_a_deal_round_trips_with_decimal_price_and_history_across_reopening(tmp_path):
    with Store(str(tmp_path)) as s:
        d = s.write(lambda t: (lambda d: (deals.put(t, d), d)[1])(deal(t)))
    with Store(str(tmp_path)) as s, s.read() as t:
        back = deals.get(t, d.id)
    assert back == d and isinstance(back.price, D) and back.price == D("2000000.50")
    assert back.history[0].to_stage == "lead" and d.id == "D-000001"


def test_ids_are_readable_sortable_and_forgiving_to_type(tmp_path):
    with Store(str(tmp_path)) as s:
        ids = s.write(lambda t: [deals.new_id(t) for _ in range(3)] + [ledger.new_id(t)])
    assert ids == ["D-000001", "D-000002", "D-000003", "C-000001"]
    assert records.parse_id("d-42", "D") == records.parse_id("D42", "D") == records.parse_id("D-000042", "D") == 42
    assert records.parse_id("C-42", "D") is None and records.parse_id("42x", "D") is None
    # past a million the keys still sort as numbers
    assert records.key("D-999999", "D") < records.key("D-1000000", "D")


def test_listing_filters_by_agent_and_stage_oldest_first(tmp_path):
    with Store(str(tmp_path)) as s:
        def fill(t):
            for agent, stage in ((A, "lead"), ("+971500000002", "offer"), (A, "offer")):
                deals.put(t, deal(t, agent=agent, stage=stage))
        s.write(fill)
        with s.read() as t:
            assert [d.id for d in deals.all(t)] == ["D-000001", "D-000002", "D-000003"]
            assert [d.id for d in deals.all(t, agent=A)] == ["D-000001", "D-000003"]
            assert [d.id for d in deals.all(t, agent=A, stage="offer")] == ["D-000003"]


def test_ledger_lines_are_never_rewritten(tmp_path):
    with Store(str(tmp_path)) as s:
        first = s.write(lambda t: ledger.append(t, line(t)))
        with pytest.raises(ledger.LineExists, match="C-000001 exists; lines are never rewritten"):
            s.write(lambda t: ledger.append(t, line(t, id=first.id, commission=D("1"))))
        with s.read() as t:
            assert ledger.get(t, first.id) == first and ledger.get(t, first.id).commission == D("40000.01")


def test_status_log_is_ordered_and_the_last_entry_is_the_status(tmp_path):
    with Store(str(tmp_path)) as s:
        ln = s.write(lambda t: ledger.append(t, line(t, status="pending_approval")))
        s.write(lambda t: ledger.set_status(t, ln.id, "approved", 6.0, by="+971500000099"))
        s.write(lambda t: ledger.set_status(t, ln.id, "paid", 7.0, payout="P-000001"))
        with s.read() as t:
            assert [c.status for c in ledger.history(t, ln.id)] == ["approved", "paid"]
            assert ledger.status(t, ln) == "paid" and ledger.get(t, ln.id).status == "pending_approval"


def test_lines_are_found_by_deal_and_by_agent(tmp_path):
    with Store(str(tmp_path)) as s:
        s.write(lambda t: [ledger.append(t, line(t, deal=d, agent=a))
                           for d, a in (("D-000001", A), ("D-000002", "+971500000002"), ("D-000001", A))])
        with s.read() as t:
            assert [x.id for x in ledger.of_deal(t, "D-000001")] == ["C-000001", "C-000003"]
            assert [x.id for x in ledger.of_agent(t, "+971500000002")] == ["C-000002"]
            assert len(ledger.all(t)) == 3


def test_an_open_payout_is_indexed_until_paid(tmp_path):
    with Store(str(tmp_path)) as s:
        p = payouts.Payout(id="P-000001", agent=A, lines=("C-000001",), amount=D("40000.01"))
        s.write(lambda t: payouts.put(t, p))
        with s.read() as t:
            assert payouts.open_for(t, A) == p
        s.write(lambda t: payouts.mark_paid(t, p, 9.0, "admin", "C-000002"))
        with s.read() as t:
            assert payouts.open_for(t, A) is None
            assert [(x.status, x.payout_line, x.amount) for x in payouts.all(t)] == [("paid", "C-000002", D("40000.01"))]


def test_a_bad_rules_file_leaves_the_rules_in_force(tmp_path):
    good = '[[rule]]\nname = "r"\nkind = "fixed"\namount = "5000"\n'
    with Store(str(tmp_path)) as s:
        s.write(lambda t: book.import_rules(t, good, by="admin"))
        with pytest.raises(RuleError):
            s.write(lambda t: book.import_rules(t, good + '[[rule]]\nname = "r2"\nkind = "fixed"\n'))
        with s.read() as t:
            assert commission_rules.current(t).text == good and [r.name for r in book.rules_in_force(t).rules] == ["r"]
        s.write(lambda t: book.import_rules(t, good.replace("5000", "6000")))
        with s.read() as t:
            assert commission_rules.current(t).seq == 2 and book.rules_in_force(t).rules[0].amount == D("6000")


def test_agents_are_added_once(tmp_path):
    with Store(str(tmp_path)) as s:
        assert s.write(lambda t: agents.add(t, agents.Agent(A, "Ali"))) is True
        assert s.write(lambda t: agents.add(t, agents.Agent(A, "Other"))) is False
        with s.read() as t:
            assert [(a.phone, a.name) for a in agents.all(t)] == [(A, "Ali")]


def test_a_corrupt_deal_record_is_reported_not_guessed(tmp_path):
    with Store(str(tmp_path)) as s:
        s.write(lambda t: t.put("deals", deals.key("D-000001"), {"id": "D-000001", "price": "not money"}))
        with s.read() as t, pytest.raises(CorruptRecord, match="not a decimal amount"):
            deals.get(t, "D-000001")
