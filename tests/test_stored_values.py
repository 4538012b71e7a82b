"""A value already in the store (written before validation existed, or by hand) never makes the
balancer raise on every message: it is refused where it is read, the master routes on safe values,
and the refusal is said once (issue 12: "let the actor refuse a bad value rather than crash on it")."""
from __future__ import annotations

import math

import pytest

from balancing import failover as fo
from storage import Store, masters

GOOD, BAD = "+971505760056", "+971553633595"


@pytest.mark.parametrize("bad", [dict(weight=math.nan), dict(weight=math.inf), dict(weight=-1.0),
                                 dict(weight=0.0), dict(role="boss"), dict(priority=10 ** 12),
                                 dict(region="United Arab Emirates")])
def test_a_bad_stored_field_routes_on_a_safe_value_and_is_reported(tmp_path, bad):
    with Store(str(tmp_path)) as store:
        store.write(lambda txn: (masters.put(txn, masters.Master(phone=GOOD, name="Sales")),
                                 masters.put(txn, masters.Master(phone=BAD, name="Rentals", **bad))))
        refused = []
        with store.read() as txn:
            views = fo.master_views(txn, lambda m: True, refused=refused.append)
    by_phone = {v.phone: v for v in views}
    assert set(by_phone) == {GOOD, BAD}                      # the master still serves
    assert math.isfinite(by_phone[BAD].weight) and by_phone[BAD].weight > 0
    assert by_phone[BAD].role in ("primary", "backup")
    [(phone, field, why)] = refused
    assert phone == BAD and field in bad and why


def test_a_daemon_with_a_nan_weight_in_its_store_starts_and_answers(daemon):
    """Measured before: a master stored with weight NaN crashed the balancer on every message, the
    root's intensity was exceeded and the daemon died at every start."""
    import json

    from daemon_support import poll

    d = daemon
    for phone, name in ((GOOD, "Sales"), (BAD, "Rentals")):
        d.cli("master", "add", phone, "--name", name)
        d.cli("link", "master", phone)
    d.stop()
    with Store(d.home) as store:   # a value no command can write any more, put there by hand
        store.write(lambda txn: masters.update(txn, BAD, weight=math.nan))
    d.start()
    d.cli("admin", "add", "+971500000001")
    customer = "+447700900001"
    d.cli("sim", "send", "--from", customer, "--to", BAD, "!ping 7")
    poll("pong from the master with the bad weight",
         lambda: any(m["text"] == "pong 7" for m in json.loads(d.cli("sim", "inbox", customer, "--json").stdout)),
         timeout=20)
    poll("the refusal alerted",
         lambda: any(a.get("kind") == "stored_value_refused" or "stored_value_refused" in json.dumps(a)
                     for a in d.json("alerts")), timeout=20)
    [balancer] = [a for a in d.json("daemon", "status")["actors"] if a["name"] == "balancer"]
    assert balancer["state"] == "running" and balancer["restarts"] == 0, balancer
