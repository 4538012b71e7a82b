"""Queue what the lead operations say (agents/desk.py `Notice`s) and what the relay forwards, in the outbox.

Everything goes out from the agency's masters, never from an agent's own
number: a notice to an agent and a relayed customer message go from the master
that owns the customer's conversation now (so failover keeps the relay), a
notice to the admins (`to` None) goes to every admin and the balancer picks
the master. Keys are derived from the lead and its step (or the message id),
so an operation run twice cannot queue its texts twice.
"""
from __future__ import annotations

from agents.desk import Moved, Notice
from storage import admins as admins_store
from storage import conversations, outbox
from storage.env import Txn
from storage.leads import Lead


def master_of(txn: Txn, customer: str, fallback: str = "") -> str | None:
    """The master that speaks for `customer` now: its conversation's owner, else `fallback`."""
    conv = conversations.get(txn, customer)
    return (conv.master if conv and conv.master else fallback) or None


def queue_moved(txn: Txn, moved: Moved | list[Moved] | None) -> int:
    """Queue the notices of one or more lead moves; answers how many messages were queued."""
    if moved is None:
        return 0
    return sum(queue_notices(txn, m.lead, m.notices) for m in (moved if isinstance(moved, list) else [moved]))


def queue_notices(txn: Txn, lead: Lead, notices: tuple[Notice, ...]) -> int:
    step = len(lead.history)    # each move adds a step: the key names this move only
    master = master_of(txn, lead.customer, lead.master)
    queued = 0
    for i, notice in enumerate(notices):
        if notice.to is not None:
            _, new = outbox.enqueue(txn, notice.to, notice.text, kind="lead",
                                    key=f"lead:{lead.id}:{step}:{i}:{notice.to}", master=master)
            queued += int(new)
            continue
        for admin in admins_store.all(txn):
            _, new = outbox.enqueue(txn, admin.phone, notice.text, kind="lead",
                                    key=f"lead:{lead.id}:{step}:{i}:{admin.phone}")
            queued += int(new)
    return queued


def queue_relay(txn: Txn, agent: str, customer: str, text: str, key: str) -> bool:
    """A customer's message forwarded to their agent, from the master that owns the conversation."""
    _, new = outbox.enqueue(txn, agent, text, kind="relay", key=key, master=master_of(txn, customer))
    return new
