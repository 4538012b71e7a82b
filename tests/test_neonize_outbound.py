"""NeonizeTransport's media sends, typing presence and read receipts, offline (issue 15).

Through neonize 0.5.2's real client and FakeGo at goneonize's ctypes boundary
(tests/neonize_support.py): a file is uploaded and sent as the message of its kind
with its caption, name and type; a media entry of the outbox goes out through the
session's send path with the bytes stored once in the home; typing shows for the
time asked, then stops; a read receipt names the customer's messages.
"""
from __future__ import annotations

import time

import pytest

from neonize_support import collect_where_runnable, run_in_child
from storage import outbound_media, outbox
from test_neonize_sends import CUSTOMER, session  # noqa: F401 - fixtures
from test_neonize_transport import N, go, make  # noqa: F401 - fixtures
from test_outbound_media_e2e import png_bytes
from transports.base import OutboundMedia


def test_neonize_cases_in_a_child_process():
    run_in_child(__file__)


def sent(go):
    return [c for c in go.calls if c[0] == "SendMessage"]


def test_an_image_is_uploaded_and_sent_with_its_caption(go, make):
    t = make()
    t.connect()
    go.wait_connection(1)
    data = png_bytes()
    assert t.send(CUSTOMER, "Unit 1204", "k1", media=OutboundMedia("image", data, "image/png", "u.png")) \
        == "3EB0SENT"
    [(_, uploaded, media_type)] = [c for c in go.calls if c[0] == "Upload"]
    assert uploaded == data and media_type == 0                    # MediaImage
    [(_, to, msg)] = sent(go)
    assert "+" + to.User == CUSTOMER
    assert msg.imageMessage.caption == "Unit 1204" and msg.imageMessage.mimetype == "image/png"
    assert msg.imageMessage.fileLength == len(data) and msg.imageMessage.JPEGThumbnail


def test_a_document_keeps_its_name_and_type_and_a_video_needs_no_ffmpeg(go, make):
    t = make()
    t.connect()
    go.wait_connection(1)
    pdf = b"%PDF-1.4 floor plan"
    t.send(CUSTOMER, "", "k1", media=OutboundMedia("document", pdf, "application/pdf", "plan.pdf"))
    mp4 = b"\x00\x00\x00\x18ftypmp42" + bytes(100)
    t.send(CUSTOMER, "A walk through", "k2", media=OutboundMedia("video", mp4, "video/mp4", "tour.mp4"))
    doc, video = (m for _, _, m in sent(go))
    assert (doc.documentMessage.fileName, doc.documentMessage.mimetype) == ("plan.pdf", "application/pdf")
    assert not doc.documentMessage.caption
    assert video.videoMessage.caption == "A walk through" and video.videoMessage.mimetype == "video/mp4"
    assert [(c[1], c[2]) for c in go.calls if c[0] == "Upload"] == [(pdf, 3), (mp4, 1)]


def test_typing_shows_for_the_time_asked_then_stops_and_read_receipts_name_the_messages(go, make):
    t = make()
    t.connect()
    go.wait_connection(1)
    t.mark_read(CUSTOMER, ["3EB0A", "3EB0B"])
    t.typing(CUSTOMER, 0.3)
    [(_, ids, chat, receipt)] = [c for c in go.calls if c[0] == "MarkRead"]
    assert ids == ["3EB0A", "3EB0B"] and "+" + chat.User == CUSTOMER and receipt == b"read"
    on, off = [c for c in go.calls if c[0] == "SendChatPresence"]
    assert (on[2], off[2]) == (0, 1)      # neonize: 0 composing, 1 paused
    assert off[3] - on[3] >= 0.3 and "+" + on[1].User == CUSTOMER


def test_a_media_entry_goes_out_through_the_session_with_the_file_from_the_home(go, session):
    go.wait_connection(1)
    data = png_bytes()
    sha = outbound_media.put(session.store.home, data)
    ref = {"kind": "image", "sha256": sha, "mime": "image/png", "file_name": "u.png", "size": len(data)}
    entry, _ = session.store.write(lambda txn: outbox.enqueue(
        txn, CUSTOMER, "Sea view", kind="manual", key="m1", master=session.phone, media=ref))
    assert session.send_now([entry.id]).sent == [entry.id]
    [(_, _, msg)] = sent(go)
    assert msg.imageMessage.caption == "Sea view"
    assert [c[1] for c in go.calls if c[0] == "Upload"] == [data]


def test_a_media_file_gone_from_the_home_is_dead_lettered_at_once(go, session):
    go.wait_connection(1)
    ref = {"kind": "image", "sha256": "0" * 64, "mime": "image/png", "file_name": "u.png", "size": 10}
    entry, _ = session.store.write(lambda txn: outbox.enqueue(
        txn, CUSTOMER, "", kind="manual", key="m2", master=session.phone, media=ref))
    assert session.send_now([entry.id]).failed == [entry.id]
    assert session.entry(entry.id).state == "dead" and "no longer" in session.entry(entry.id).last_error
    assert sent(go) == []


collect_where_runnable(globals())
