"""The deal pipeline: which stage changes are allowed, each recorded (who, when, from, to, reason).

    lead → interested → offer → negotiation → inspection → approval → closed

Any open stage may move to any other open stage (backwards too) or straight
to closed; any stage, closed included, may be cancelled (with a reason).
A closed deal moves only by cancel or reopen; a cancelled one only by
reopen, which takes it back to `approval`. The functions are pure: they
return the changed deal or raise StageError; the ledger consequences of
closing, cancelling and reopening are deals/book.py's.
"""
from __future__ import annotations

from dataclasses import replace

from deals.errors import StageError
from runtime.vocabulary import DEAL_STAGES, OPEN_DEAL_STAGES
from storage.deals import Deal, StageChange

REOPENED_TO = "approval"


def move(deal: Deal, to: str, by: str, at: float, reason: str = "") -> Deal:
    """`deal` at stage `to`, the change recorded; StageError when the pipeline forbids it."""
    if to not in DEAL_STAGES:
        raise StageError(f"unknown stage {to!r}; one of {', '.join(DEAL_STAGES)}")
    if to == deal.stage:
        raise StageError(f"deal {deal.id} is already {to}")
    if deal.stage == "cancelled":
        raise StageError(f"deal {deal.id} is cancelled, which is final; an admin can reopen it")
    if deal.stage == "closed" and to != "cancelled":
        raise StageError(f"deal {deal.id} is closed: it can only be cancelled, or reopened by an admin")
    if to == "cancelled" and not reason.strip():
        raise StageError(f"cancelling deal {deal.id} needs a reason")
    return _record(deal, to, by, at, reason)


def close(deal: Deal, by: str, at: float) -> Deal:
    return move(deal, "closed", by, at)


def cancel(deal: Deal, by: str, at: float, reason: str) -> Deal:
    return move(deal, "cancelled", by, at, reason)


def reopen(deal: Deal, by: str, at: float, reason: str = "") -> Deal:
    """A closed or cancelled deal back to `approval` (admins only: the command checks who asks)."""
    if deal.stage in OPEN_DEAL_STAGES:
        raise StageError(f"deal {deal.id} is open ({deal.stage}); only a closed or cancelled deal is reopened")
    return _record(deal, REOPENED_TO, by, at, reason)


def is_open(deal: Deal) -> bool:
    return deal.stage in OPEN_DEAL_STAGES


def _record(deal: Deal, to: str, by: str, at: float, reason: str) -> Deal:
    change = StageChange(at=at, by=by, from_stage=deal.stage, to_stage=to, reason=reason.strip())
    return replace(deal, stage=to, history=deal.history + (change,))
