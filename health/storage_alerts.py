"""Alerts about the store itself: records set aside (quarantined) since the last look.

Whichever process found a bad record moved it to the `quarantine` database
(storage/quarantine.py); the HA monitor looks there every sync and raises one
alert naming each new one's database and key, so nothing vanishes silently.
"""
from __future__ import annotations

from health.alerts import Alert, make_alert
from storage import quarantine

MAX_NAMED = 10   # records named in one alert; `whitecaves store check` lists them all


def any_new_quarantined(txn) -> bool:
    return bool(quarantine.unalerted(txn))


def quarantine_alerts(txn, now: float) -> list[Alert]:
    """The alert for records quarantined and not alerted yet (marked alerted here)."""
    new = quarantine.unalerted(txn)
    if not new:
        return []
    quarantine.mark_alerted(txn, new)
    named = "; ".join(f"{q.db} key {quarantine.show_key(q.key)} ({q.reason})" for q in new[:MAX_NAMED])
    more = f"; and {len(new) - MAX_NAMED} more" if len(new) > MAX_NAMED else ""
    return [make_alert("record_quarantined", None,
                       f"{len(new)} record(s) set aside: {named}{more}. See `whitecaves store check`.", now)]
