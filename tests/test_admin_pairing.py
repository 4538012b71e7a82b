"""`!relink` over WhatsApp: the gateway waits for the pairing's outcome in the store (no actor system)."""
from __future__ import annotations

import os
import time
from types import SimpleNamespace

import pytest

from commands.registry import CommandError
from masters.commands import _relink_reply, pairing_outcome
from storage import Store, masters, pairing

PHONE = "+971505760056"


@pytest.fixture
def gw(tmp_path):
    home = str(tmp_path)
    store = Store(home)
    store.write(lambda txn: masters.put(txn, masters.Master(phone=PHONE, name="Sales", device_state="pairing")))
    os.makedirs(os.path.join(home, "run"), exist_ok=True)
    yield SimpleNamespace(store=store, ctx=SimpleNamespace(home=home))
    store.close()


def pairing_file(gw, text: str, age_s: float = 0.0) -> None:
    """What the session writes while it pairs (`kind value`), `age_s` ago."""
    kind, _, value = text.partition(" ")

    gw.store.write(lambda txn: pairing.put(txn, PHONE, kind, value, ts=time.time() - age_s))


def test_nothing_yet_then_a_code_to_type_on_the_phone(gw):
    since = time.time()
    assert pairing_outcome(gw.store, PHONE, since) is None
    pairing_file(gw, "code ABCD-1234", age_s=60)          # left by an earlier pairing: not this one's
    assert pairing_outcome(gw.store, PHONE, since) is None
    pairing_file(gw, "qr 2@abc")                          # a QR first (neonize asks for the code after it)
    assert pairing_outcome(gw.store, PHONE, since) is None
    pairing_file(gw, "code WXYZ-9876")
    outcome = pairing_outcome(gw.store, PHONE, since)
    assert outcome == {"linking": PHONE, "code": "WXYZ-9876"}
    assert "WXYZ-9876" in _relink_reply(outcome) and "Link with phone number" in _relink_reply(outcome)


def test_connected_or_failed(gw):
    since = time.time()
    pairing_file(gw, "failed WhatsApp could not be reached")
    with pytest.raises(CommandError, match="could not be reached"):
        pairing_outcome(gw.store, PHONE, since)
    gw.store.write(lambda txn: masters.update(txn, PHONE, device_state="connected"))
    assert pairing_outcome(gw.store, PHONE, since) == {"linking": PHONE, "connected": True}
    assert _relink_reply({"linking": PHONE, "connected": True}) == f"{PHONE} is relinked and connected."
