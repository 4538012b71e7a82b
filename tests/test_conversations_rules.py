"""Issue 14's conversation rules on a real store, called as the session calls them: the
backlog, a person answering from the phone, loops, LID senders, edits, revokes, reactions,
undecryptable messages, media kinds, and what `conversations show` / `--waiting` read."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from commands.registry import UsageError
from conversations.backlog import OFFLINE_BLIP_S, BacklogTally, is_backlog
from conversations.changes import UNDECRYPTABLE_TEXT
from conversations.commands import _bot_on_check, show_rows
from conversations.inbound import Rules, handle_inbound
from runtime.config import Chat
from storage import Store, admins, conversations, masters, metrics, outbox
from transports import events as ev

MASTER, OTHER_MASTER = "+971505760056", "+971553633595"
CUSTOMER, ADMIN, BOT = "+447700900001", "+971501111111", "+447700900099"
LID = "123456789012345@lid"


def at(hour: int, minute: int = 30, day: int = 29) -> float:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=ZoneInfo("Asia/Dubai")).timestamp()


NOON, NIGHT = at(12), at(22)
WELCOME = Chat(welcome="Welcome to White Caves!")
AFTER = Chat(after_hours="We are closed; we answer at 9.")


@pytest.fixture
def store(tmp_path):
    with Store(str(tmp_path)) as s:
        s.write(lambda txn: (masters.put(txn, masters.Master(phone=MASTER, name="Sales")),
                             masters.put(txn, masters.Master(phone=OTHER_MASTER, name="Rentals")),
                             admins.add(txn, ADMIN)))
        yield s


def handle(store, batch, chat=Chat(), now=NOON, resolve=None):
    return store.write(lambda txn: handle_inbound(txn, MASTER, batch, chat, Rules(now=now, resolve=resolve)))


def msg(mid, text, ts=NOON, sender=CUSTOMER, **kw):
    return ev.Inbound(mid, sender, text, ts, **kw)


def queued(store) -> list[tuple[str, str]]:
    with store.read() as txn:
        return [(e.to, e.text) for e in outbox.all(txn)]


def shown(store, customer=CUSTOMER) -> list[dict]:
    with store.read() as txn:
        return show_rows(conversations.messages(txn, customer))


def waiting(store) -> list[str]:
    with store.read() as txn:
        return [c.customer for c in conversations.waiting(txn)]


# --- the backlog ---------------------------------------------------------------------------

def test_a_night_of_backlog_is_stored_never_answered_and_its_commands_never_run(store):
    batch = [msg("N1", "is the flat still free?", ts=NOON - 8 * 3600, offline=True),
             msg("N2", "!ping", ts=NOON - 7 * 3600, offline=True),
             msg("N3", "!handover +971505760056", ts=NOON - 3600, sender=ADMIN, offline=True)]
    handled = handle(store, batch, chat=WELCOME)
    assert [h.held for h in handled] == [True, True, True]
    assert queued(store) == []                                  # no welcome, no pong, no ack
    assert all(h.forwards == [] for h in handled)               # the handover never ran
    assert waiting(store) == [CUSTOMER, ADMIN]                  # oldest first
    rows = shown(store)
    assert [(r["text"], r["answered"], r.get("backlog")) for r in rows] == [
        ("is the flat still free?", False, True), ("!ping", False, True)]


def test_old_messages_outside_a_sync_are_backlog_too_and_a_blip_is_answered(store):
    assert is_backlog(NOON - 601, False, NOON, 600) and not is_backlog(NOON - 599, False, NOON, 600)
    assert not is_backlog(NOON - 5, True, NOON, 600)                 # redelivered after a crash
    assert is_backlog(NOON - OFFLINE_BLIP_S - 1, True, NOON, 600)    # a minute inside the sync
    [h] = handle(store, [msg("B1", "!ping", ts=NOON - 5, offline=True)])
    assert not h.held and queued(store) == [(CUSTOMER, "pong")] and waiting(store) == []


def test_the_admins_get_one_summary_per_reconnect():
    tally = BacklogTally()
    tally.sync_started()
    for c in ("+1", "+2", "+1"):
        tally.add(c)
    assert tally.flush("+971505760056") is None               # still inside the sync window
    text = tally.sync_completed("+971505760056")
    assert text.startswith("3 messages from 2 customers arrived while +971505760056 was offline")
    assert tally.sync_completed("+971505760056") is None and tally.flush("+9") is None


# --- a person answering from the phone -------------------------------------------------------

def test_a_person_on_the_phone_is_recorded_and_the_bot_keeps_quiet_until_bot_on(store):
    chat = Chat(welcome="Welcome!", after_hours="Closed.", human_mute_s=3600)
    handle(store, [msg("P1", "Yes, it is free. Viewing at 5?", ts=NOON - 10, from_me=True)], chat)
    handle(store, [msg("C1", "great, see you", ts=NOON - 5)], chat)
    handle(store, [msg("C2", "!nonsense")], chat, now=NIGHT)
    assert queued(store) == []                                   # no welcome, no after-hours, no "unknown"
    rows = shown(store)
    assert [(r["direction"], r["author"]) for r in rows] == [("out", "human"), ("in", "customer"),
                                                              ("in", "customer")]
    assert waiting(store) == [CUSTOMER]                         # the customer's reply is unanswered
    handle(store, [msg("C3", "!ping")], chat)                    # a real command is still answered
    assert queued(store) == [(CUSTOMER, "pong")]
    handle(store, [msg("P2", "!bot on", from_me=True)], chat)    # typed on the phone
    handle(store, [msg("C4", "hello?", ts=NIGHT)], chat, now=NIGHT)
    assert [t for _, t in queued(store)] == ["pong", "Welcome!", "Closed."]
    assert shown(store)[-2]["author"] == "note"


def test_the_mute_ends_by_itself_and_bot_on_from_an_admin_checks_its_words(store):
    chat = Chat(welcome="Welcome!", human_mute_s=60)
    handle(store, [msg("P1", "answering myself", from_me=True)], chat)
    handle(store, [msg("C1", "hi", ts=NOON + 30)], chat, now=NOON + 30)
    assert queued(store) == []
    handle(store, [msg("C2", "hi again", ts=NOON + 61)], chat, now=NOON + 61)
    assert queued(store) == [(CUSTOMER, "Welcome!")]
    with store.read() as txn:
        with pytest.raises(UsageError):
            _bot_on_check(txn, "off", CUSTOMER)
        with pytest.raises(UsageError):
            _bot_on_check(txn, "on", "+447700900777")


# --- loops -----------------------------------------------------------------------------------

def test_another_bot_gets_at_most_the_budget_of_automatic_replies_an_hour(store):
    chat = Chat(welcome="Welcome!", after_hours="Closed.", auto_reply_budget=3)
    for i in range(12):   # another bot answering each of our notes at night
        handle(store, [msg(f"L{i}", f"Auto-reply {i}: we are away" if i % 2 else "!unknown",
                           ts=NIGHT + i, sender=BOT)], chat, now=NIGHT + i)
    assert len(queued(store)) == 3
    handle(store, [msg("L99", "!unknown", ts=NIGHT + 3601, sender=BOT)], chat, now=NIGHT + 3601)
    assert len(queued(store)) == 4                              # the next hour has a budget again


def test_after_hours_is_judged_by_the_time_now_and_sent_once_per_closed_period(store):
    handle(store, [msg("A1", "hello", ts=at(22))], AFTER, now=at(22))
    handle(store, [msg("A2", "anyone?", ts=at(23, 50))], AFTER, now=at(23, 50))
    handle(store, [msg("A3", "still there?", ts=at(3, day=30))], AFTER, now=at(3, day=30))
    assert len(queued(store)) == 1                              # one closed period: one note
    handle(store, [msg("A4", "written at night", ts=at(22, 50))], AFTER, now=at(22, 51))
    handle(store, [msg("A5", "morning", ts=at(10, day=30))], AFTER, now=at(10, day=30))
    assert len(queued(store)) == 1                              # open now: no note
    handle(store, [msg("A6", "evening", ts=at(20, day=30))], AFTER, now=at(20, day=30))
    assert len(queued(store)) == 2                              # the next closed period


def test_the_agencys_own_masters_are_never_answered_automatically(store):
    handle(store, [msg("M1", "Welcome to White Caves!", sender=OTHER_MASTER, ts=NIGHT)],
           Chat(welcome="Welcome!", after_hours="Closed."), now=NIGHT)
    handle(store, [msg("M2", "!what", sender=OTHER_MASTER, ts=NIGHT)], Chat(), now=NIGHT)
    assert queued(store) == []


# --- LID senders ---------------------------------------------------------------------------

def test_a_lid_sender_is_kept_under_its_lid_then_merged_into_the_phone(store):
    chat = Chat(welcome="Welcome!")
    handle(store, [msg("L1", "hidden hello", ts=NOON - 20, sender="", sender_lid=LID)], chat)
    assert waiting(store) == [LID] and queued(store) == []       # nobody to answer yet, not dropped
    handle(store, [msg("P1", "first by phone", ts=NOON - 10)], chat)
    handle(store, [ev.LidResolved(lid=LID, phone=CUSTOMER)], chat)
    with store.read() as txn:
        assert conversations.get(txn, LID) is None
        assert conversations.get(txn, CUSTOMER).messages == 2
    assert [r["text"] for r in shown(store)] == ["hidden hello", "first by phone"]   # time order


def test_a_lid_sender_with_a_known_phone_goes_to_the_phone_conversation(store):
    handle(store, [msg("L1", "hidden", sender="", sender_lid=LID)])
    handle(store, [msg("L2", "!ping", sender="", sender_lid=LID)], resolve={LID: CUSTOMER}.get)
    assert queued(store) == [(CUSTOMER, "pong")]
    assert [r["text"] for r in shown(store)] == ["hidden", "!ping"]   # merged on the later lookup


# --- edits, revokes, reactions, undecryptable, media ----------------------------------------

def test_edits_keep_the_original_revokes_mark_deleted_reactions_are_recorded(store):
    handle(store, [msg("E1", "3 bedrooms"), msg("E2", "call me")])
    handle(store, [ev.Edited("X1", "E1", CUSTOMER, "4 bedrooms", NOON + 1),
                   ev.Revoked("X2", "E2", CUSTOMER, NOON + 2),
                   ev.Reaction("X3", "E1", CUSTOMER, "👍", NOON + 3),
                   ev.Edited("X4", "E1", CUSTOMER, "5 bedrooms", NOON + 4),
                   ev.Edited("X5", "NOPE", CUSTOMER, "lost", NOON + 5)])
    first, second = shown(store)
    assert (first["text"], first["original_text"], first["reactions"]) == ("5 bedrooms", "3 bedrooms",
                                                                           {"customer": "👍"})
    assert second["deleted"] is True and len(shown(store)) == 2


def test_an_undecryptable_message_is_counted_and_has_a_placeholder(store):
    handle(store, [ev.Undecryptable("U1", CUSTOMER, NOON)])
    with store.read() as txn:
        assert metrics.get(txn, f"undecryptable:{MASTER}") == 1
    [row] = shown(store)
    assert (row["kind"], row["text"]) == ("undecryptable", UNDECRYPTABLE_TEXT)
    assert waiting(store) == [CUSTOMER]


@pytest.mark.parametrize("kind,text", [("image", "[photo]"), ("video", "[video 9 s]"),
                                       ("voice", "[voice note 14 s]"), ("document", "[document lease.pdf]"),
                                       ("sticker", "[sticker]"), ("location", "[location 25.2,55.3]"),
                                       ("contact", "[contact Ann +447700900002]")])
def test_every_kind_is_stored_with_its_kind_and_routed_like_text(store, kind, text):
    media = ev.Media(mime="x/y", fetch=lambda: b"bytes") if kind in ev.MEDIA_KINDS else None
    [h] = handle(store, [msg("K1", text, kind=kind, media=media)], WELCOME)
    assert h.replies == 1 and h.fetch == (media is not None)    # welcomed like a text
    [row] = shown(store)
    assert (row["kind"], row["text"], row["media"]) == (kind, text, None)
    assert row.get("media_state", "") == ("pending" if media else "")


def test_messages_stored_before_issue_14_still_decode(store):
    old = {"customer": CUSTOMER, "master": MASTER, "direction": "out", "text": "hi", "ts": 1.0,
           "message_id": "OLD"}
    store.write(lambda txn: txn.put("messages", CUSTOMER.encode() + b"\0" + (1).to_bytes(8, "big"), old))
    with store.read() as txn:
        [m] = conversations.messages(txn, CUSTOMER)
    assert (m.who, m.kind, m.media, m.reactions) == ("bot", "text", None, {})
