"""deals/book.py around the ledger: stage commands, listing, calc with the rules in force, settings."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from deals import book, settings
from deals.errors import CommissionError, DealError, StageError
from storage import Store

A, C = "+971500000001", "+971500000009"
RULES = '[[rule]]\nname = "sale-2pct"\nkind = "percentage"\nrate = "2"\n[rule.scope]\ntransaction = ["sale"]\n'


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path))
    s.write(lambda t: book.add_agent(t, A, "Ali", brn="12345", brn_expiry="2099-12-31"))
    yield s
    s.close()


def do(store, fn, *args, **kw):
    return store.write(lambda t: fn(t, *args, **kw))


def test_calc_without_rules_says_so_then_uses_the_imported_ones(store):
    with store.read() as t, pytest.raises(CommissionError, match="no commission rule in scope for a sale"):
        book.calc(t, "2000000", "Villa", "sale")
    do(store, book.import_rules, RULES)
    with store.read() as t:
        assert book.calc(t, "2,000,000", "Villa", "sale", agent="+971 50 000 0001").as_json()["total"] == "42000.00"
        with pytest.raises(DealError, match=r"\+971509999999 is not a registered agent"):
            book.calc(t, "2000000", "villa", "sale", agent="+971509999999")


def test_set_stage_routes_closed_and_cancelled_through_the_ledger(store):
    do(store, book.import_rules, RULES)
    d = do(store, book.new_deal, A, C, "Villa 12", "Villa", "sale", "1000000", project=" Palm Views ")
    assert (d.property_type, d.project, d.stage) == ("villa", "Palm Views", "lead")
    assert do(store, book.set_stage, d.id, "offer").deal.stage == "offer"
    assert do(store, book.set_stage, d.id, "closed").line.line.commission == D("20000.00")
    with pytest.raises(StageError, match="needs a reason"):
        do(store, book.set_stage, d.id, "cancelled")
    assert do(store, book.set_stage, d.id, "cancelled", reason="pulled out").line.line.kind == "clawback"
    with pytest.raises(DealError, match="unknown stage 'won'"):
        do(store, book.set_stage, d.id, "won")
    with store.read() as t:
        view = book.show_deal(t, d.id.lower())
        assert [e.line.kind for e in view.lines] == ["earned", "clawback"]
        assert [h["to"] for h in book.deal_json(view.deal)["history"]] == ["lead", "offer", "closed", "cancelled"]
        assert [x.id for x in book.list_deals(t, stage="cancelled")] == [d.id]
        assert book.list_deals(t, agent=A, stage="lead") == []


def test_an_agent_is_added_once_with_a_name(store):
    with pytest.raises(DealError, match="already an agent"):
        do(store, book.add_agent, "+971 50 000 0001", "Again")
    with pytest.raises(DealError, match="needs a name"):
        do(store, book.add_agent, "+971500000002", " ")


def test_commission_settings():
    assert settings.parse(None) == settings.CommissionSettings(D("5"), "AED")
    assert settings.parse({"vat_pct": 5.5, "currency": "USD"}).vat_pct == D("5.5")
    assert settings.parse({"vat_pct": 0}).vat_pct == 0
    for bad, why in (({"vat_pct": 101}, "between 0 and 100"), ({"vat_pct": "x"}, "decimal"),
                     ({"currency": "dirham"}, "3-letter"), ({"vat": 5}, "unknown key vat")):
        with pytest.raises(DealError, match=why):
            settings.parse(bad)
