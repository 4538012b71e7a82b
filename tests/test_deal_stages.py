"""The deal pipeline (deals/stages.py): every allowed move recorded, every forbidden one refused."""
from __future__ import annotations

from decimal import Decimal

import pytest

from deals import stages
from deals.errors import StageError
from runtime.vocabulary import DEAL_STAGES, OPEN_DEAL_STAGES
from storage.deals import Deal


def deal(stage: str = "lead") -> Deal:
    return Deal(id="D-000001", customer="+971500000009", agent="+971500000001", property="Villa 12, Palm",
                property_type="villa", transaction="sale", price=Decimal("2000000"), stage=stage)


def test_forward_through_the_pipeline_records_each_change():
    d = deal()
    for t, to in enumerate(DEAL_STAGES[1:7], 1):
        d = stages.move(d, to, by="+971500000001", at=float(t))
    assert d.stage == "closed"
    assert [(c.from_stage, c.to_stage, c.at, c.by) for c in d.history] == [
        (a, b, float(t), "+971500000001") for t, (a, b) in enumerate(zip(DEAL_STAGES[:6], DEAL_STAGES[1:7]), 1)]


@pytest.mark.parametrize("frm", OPEN_DEAL_STAGES)
def test_closing_from_any_open_stage(frm):
    assert stages.close(deal(frm), "admin", 1.0).stage == "closed"


def test_backwards_is_allowed():
    d = stages.move(deal("negotiation"), "interested", "a", 1.0, reason="price too high")
    assert (d.stage, d.history[-1].from_stage, d.history[-1].reason) == ("interested", "negotiation", "price too high")


@pytest.mark.parametrize("frm", OPEN_DEAL_STAGES + ("closed",))
def test_cancelled_from_any_stage_closed_included_with_a_reason(frm):
    d = stages.cancel(deal(frm), "admin", 2.0, reason="buyer pulled out")
    assert d.stage == "cancelled" and d.history[-1].reason == "buyer pulled out"


def test_cancel_needs_a_reason():
    with pytest.raises(StageError, match="needs a reason"):
        stages.cancel(deal("offer"), "admin", 1.0, reason="  ")


@pytest.mark.parametrize("to", DEAL_STAGES[:7])
def test_cancelled_is_final(to):
    with pytest.raises(StageError, match="cancelled, which is final; an admin can reopen it"):
        stages.move(deal("cancelled"), to, "admin", 1.0)


@pytest.mark.parametrize("to", OPEN_DEAL_STAGES)
def test_a_closed_deal_does_not_drift_back_to_an_open_stage(to):
    with pytest.raises(StageError, match="closed: it can only be cancelled, or reopened"):
        stages.move(deal("closed"), to, "a", 1.0)


@pytest.mark.parametrize("frm", ["closed", "cancelled"])
def test_reopen_goes_back_to_approval(frm):
    d = stages.reopen(deal(frm), "admin", 3.0, reason="mistake")
    assert d.stage == "approval" and (d.history[-1].from_stage, d.history[-1].to_stage) == (frm, "approval")


def test_reopen_of_an_open_deal_is_refused():
    with pytest.raises(StageError, match="is open"):
        stages.reopen(deal("offer"), "admin", 1.0)


def test_unknown_stage_and_same_stage_are_refused():
    with pytest.raises(StageError, match="unknown stage 'sold'; one of lead, interested"):
        stages.move(deal(), "sold", "a", 1.0)
    with pytest.raises(StageError, match="already closed"):
        stages.close(deal("closed"), "a", 1.0)


def test_the_original_deal_is_not_changed():
    d = deal()
    stages.move(d, "offer", "a", 1.0)
    assert d.stage == "lead" and d.history == ()
