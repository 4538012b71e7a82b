"""SimState keeps what issue 14's messages need across a restart: held messages with their
original time and parts, the files sent, and which LIDs have been revealed."""
from __future__ import annotations

import hashlib

from transports.sim.state import SimState

MASTER, CUSTOMER = "+971505760056", "+971501234567"


def test_held_messages_files_and_revealed_lids_survive_reopening(tmp_path):
    state = SimState(str(tmp_path))
    photo = b"\x00\xffJPEG" * 1000
    media_id = state.put_media(photo)
    assert media_id == hashlib.sha256(photo).hexdigest()
    record = state.customer_send(CUSTOMER, MASTER, "the view", ts=1_000.0, kind="image",
                                 media={"id": media_id, "size": len(photo)})
    lid = state.reveal(CUSTOMER)
    state.close()

    again = SimState(str(tmp_path))
    assert again.pending(MASTER) == [record]
    assert again.pending(MASTER)[0]["ts"] == 1_000.0
    assert again.media(media_id) == photo
    assert again.media("0" * 64) is None
    assert again.phone_for_lid(lid) == CUSTOMER
    again.close()


def test_a_lid_is_stable_per_customer_and_hidden_until_revealed():
    state = SimState()
    lid = state.lid_of(CUSTOMER)
    assert lid == state.lid_of(CUSTOMER) != state.lid_of(MASTER)
    assert lid.endswith("@lid") and len(lid.split("@")[0]) == 15
    assert state.phone_for_lid(lid) == ""
    assert state.reveal(CUSTOMER) == lid and state.phone_for_lid(lid) == CUSTOMER
