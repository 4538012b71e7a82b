"""The session keeps working with issue 14's extended events (until the lead's session work):
media are stored as their placeholder text, a LID-only sender by its LID, a reply typed on
the master's phone is acknowledged but never answered, and the conversation events
(offline sync, edits, ...) neither crash the session nor move its device state."""
from __future__ import annotations

from storage import conversations
from test_session_inbound import MASTER, FakeTransport, session, stored  # noqa: F401
from transports import events as ev

CUSTOMER = "+447700900001"


def test_extended_inbound_events_are_stored_or_skipped_without_answers_to_the_phone(tmp_path):
    s = session(str(tmp_path), FakeTransport())
    s.state = "connected"
    photo = ev.Inbound("WAMID-P", CUSTOMER, "[photo]", 1_000.0, kind="image",
                       media=ev.Media(mime="image/jpeg", size=10))
    by_lid = ev.Inbound("WAMID-L", "", "hello", 1_001.0, sender_lid="123456789012345@lid")
    phone_reply = ev.Inbound("WAMID-H", CUSTOMER, "Sara here, calling you", 1_002.0, from_me=True)
    s._on_events([ev.OfflineSyncStarted(messages=2), photo, phone_reply, by_lid,
                  ev.Edited("WAMID-E", "WAMID-P", CUSTOMER, "new", 1_003.0),
                  ev.OfflineSyncCompleted(count=2)])
    assert s.state == "connected"
    assert sorted(s.transport.acked) == ["WAMID-E", "WAMID-H", "WAMID-L", "WAMID-P"]
    with s.store.read() as txn:
        mine = conversations.messages(txn, CUSTOMER)
        lid = conversations.messages(txn, "123456789012345@lid")
    assert [(m.direction, m.text) for m in mine if m.direction == "in"] == [("in", "[photo]")]
    assert [m.text for m in lid] and lid[0].text == "hello"
    assert "Sara here" not in " ".join(m.text for m in mine)
