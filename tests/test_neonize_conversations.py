"""Issue 14's conversation rules fed by neonize's real protobufs through its real dispatch
(FakeGo at the ctypes boundary, tests/neonize_support.py) and the NeonizeTransport, then
handled as actors/session.py handles a poll: handle_inbound in one store write, the offline
sync framing the admins' summary, the photo downloaded by the media worker.

Runs in a child pytest, like every test that imports neonize.
"""
from __future__ import annotations

import hashlib
import time

import pytest  # noqa: F401 - fixtures

from conversations import media
from conversations.backlog import BacklogTally
from conversations.inbound import Rules, handle_inbound
from neonize_support import collect_where_runnable, run_in_child
from runtime.config import Chat
from storage import Store, conversations, metrics, outbox
from test_neonize_inbound import (CUSTOMER, LID, PHOTO, E, N, connected, go, jid, key,  # noqa: F401
                                  make, message, wait_events)
from transports import events as ev

MASTER = "+971505760056"


def test_neonize_cases_in_a_child_process():
    run_in_child(__file__)


def fresh(N, E, body, **kw):
    """A message stamped now (not the 2023 stamp of the mapping tests)."""
    msg = message(N, body, **kw)
    msg.Info.Timestamp = int(time.time() * 1000)
    return msg


def session_poll(store, t, n, tally, chat=Chat(welcome="Welcome!")):
    """What MasterSession._on_events does with one poll's events, minus the actor."""
    handled = []
    for e in wait_events(t, n):
        if isinstance(e, ev.OfflineSyncStarted):
            tally.sync_started()
        elif isinstance(e, ev.OfflineSyncCompleted):
            handled.append(tally.sync_completed(MASTER))
        else:
            got = store.write(lambda txn: handle_inbound(txn, MASTER, [e], chat, Rules(
                now=time.time(), resolve=t.phone_for_lid)))
            for h in got:
                if h.held and h.from_customer:
                    tally.add(h.customer)
            handled += got
    return handled


def test_an_offline_sync_backlog_is_held_and_a_fresh_message_answered(N, E, go, make, tmp_path):
    t, conn = connected(go, make)
    old = lambda i: message(N, E.Message(conversation=f"night {i}"), msg_id=f"N{i}")   # noqa: E731
    for event in (N.OfflineSyncPreview(Total=2, Message=2), old(1), old(2), N.OfflineSyncCompleted(Count=2),
                  fresh(N, E, E.Message(conversation="hello now"), msg_id="F1")):
        assert conn.deliver(event)
    tally = BacklogTally()
    with Store(str(tmp_path)) as store:
        got = session_poll(store, t, 5, tally)
        summary = [g for g in got if isinstance(g, str)]
        assert len(summary) == 1 and summary[0].startswith(f"2 messages from 1 customer arrived while {MASTER}")
        with store.read() as txn:
            assert [e.text for e in outbox.all(txn)] == ["Welcome!"]     # only the fresh one
            rows = conversations.messages(txn, "+" + CUSTOMER)
        assert [(m.text, m.held, m.answered) for m in rows] == [
            ("night 1", True, False), ("night 2", True, False), ("hello now", False, True)]


def test_photo_from_me_lid_edit_revoke_and_undecryptable(N, E, go, make, tmp_path):
    sha = hashlib.sha256(PHOTO).digest()
    go.media[sha] = PHOTO
    go.lids[LID] = CUSTOMER
    t, conn = connected(go, make)
    photo = E.Message(imageMessage=E.ImageMessage(mimetype="image/jpeg", caption="the view", fileSHA256=sha,
                                                  fileLength=len(PHOTO), directPath="/v/t62/x"))
    edit = E.ProtocolMessage(key=key(E, "P1"), type=E.ProtocolMessage.MESSAGE_EDIT,
                             editedMessage=E.Message(conversation="the view, 12th floor"))
    revoke = E.ProtocolMessage(key=key(E, "H1"), type=E.ProtocolMessage.REVOKE)
    source = N.MessageSource(Chat=jid(N, CUSTOMER), Sender=jid(N, CUSTOMER))
    from test_neonize_inbound import PHONE
    for event in (fresh(N, E, photo, msg_id="P1"),
                  fresh(N, E, E.Message(conversation="by lid"), sender=jid(N, LID, "lid"), msg_id="L1"),
                  fresh(N, E, E.Message(conversation="hidden"), sender=jid(N, "999888777666555", "lid"),
                        msg_id="L2"),
                  fresh(N, E, E.Message(conversation="Sara here"), sender=jid(N, PHONE[1:]),
                        chat=jid(N, CUSTOMER), from_me=True, msg_id="H1"),
                  fresh(N, E, E.Message(protocolMessage=edit), msg_id="E1", edit=True),
                  fresh(N, E, E.Message(protocolMessage=revoke), msg_id="R1"),
                  N.UndecryptableMessage(Info=N.MessageInfo(MessageSource=source, ID="U1",
                                                            Timestamp=int(time.time() * 1000)))):
        assert conn.deliver(event)
    fetcher = media.MediaFetcher(str(tmp_path / "media"), 1 << 20)
    with Store(str(tmp_path)) as store:
        handled = session_poll(store, t, 7, BacklogTally())
        [h] = [h for h in handled if h.fetch]
        fetcher.submit(h.customer, "P1", h.event.media)
        deadline = time.monotonic() + 10
        while not (outcomes := fetcher.ready()):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        store.write(lambda txn: media.record(txn, outcomes[0]))
        fetcher.close()
        with store.read() as txn:
            rows = {m.message_id: m for m in conversations.messages(txn, "+" + CUSTOMER)}
            hidden = conversations.messages(txn, "999888777666555@lid")
            assert metrics.get(txn, f"undecryptable:{MASTER}") == 1
            assert conversations.get(txn, "+" + CUSTOMER).human_until > time.time()
        assert open(rows["P1"].media, "rb").read() == PHOTO
        assert (rows["P1"].kind, rows["P1"].text, rows["P1"].original_text) == (
            "image", "the view, 12th floor", "the view")
        assert rows["L1"].text == "by lid"                    # the LID resolved to the phone
        assert (rows["H1"].who, rows["H1"].direction, rows["H1"].deleted) == ("human", "out", True)
        assert rows["U1"].kind == "undecryptable"
        assert [m.text for m in hidden] == ["hidden"]         # unknown LID: kept under it


collect_where_runnable(globals())
