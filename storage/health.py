"""The HA monitor's state and history: per-master trackers and health changes, the alert gate,
the queue-depth history. Kept in the `metrics` database under their own names (where earlier
versions put them), so an existing home keeps its history."""
from __future__ import annotations

from storage.codec import text
from storage.env import Txn

_DB = "metrics"


def _get(txn: Txn, name: str, default=None):
    value = txn.get(_DB, text(name))
    return default if value is None else value


def get_tracker(txn: Txn, phone: str) -> dict | None:
    return _get(txn, f"health_tracker:{phone}")


def put_tracker(txn: Txn, phone: str, tracker: dict) -> None:
    txn.put(_DB, text(f"health_tracker:{phone}"), tracker)


def all_trackers(txn: Txn) -> list[dict]:
    return [v for _, v in txn.scan(_DB, prefix=text("health_tracker:"))]


def get_changes(txn: Txn, phone: str) -> list[tuple]:
    """(ts, old, new) health changes of one master, oldest first."""
    return [tuple(c) for c in _get(txn, f"health_changes:{phone}", [])]


def put_changes(txn: Txn, phone: str, changes: list[tuple]) -> None:
    txn.put(_DB, text(f"health_changes:{phone}"), [list(c) for c in changes])


def get_alert_gate(txn: Txn) -> dict | None:
    return _get(txn, "alert_gate")


def put_alert_gate(txn: Txn, gate: dict) -> None:
    txn.put(_DB, text("alert_gate"), gate)


def get_queue_depth(txn: Txn) -> dict | None:
    return _get(txn, "queue_depth")


def put_queue_depth(txn: Txn, history: dict) -> None:
    txn.put(_DB, text("queue_depth"), history)
