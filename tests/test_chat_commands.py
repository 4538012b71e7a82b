"""Chat commands as pure logic: `respond` against a real LMDB store, no actor system."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from chat import auto_replies, respond
from chat.dispatch import DENIED, MAX_REPLY, split
from commands import registry
from runtime.config import Chat
from storage import Store, admins, conversations, events, masters

ADMIN, STRANGER = "+971500000001", "+447700900123"
A, B = "+971505760056", "+971553633595"


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path))

    def seed(txn):
        masters.put(txn, masters.Master(phone=A, name="Sales", device_state="connected", health="healthy"))
        masters.put(txn, masters.Master(phone=B, name="Rentals", role="backup", device_state="logged_out",
                                        health="failed"))
        admins.add(txn, ADMIN)
        conversations.add_message(txn, conversations.Message(STRANGER, A, "in", "hi", 1.0))
    s.write(seed)
    yield s
    s.close()


def ask(store, sender, text, forwards=None):
    return store.write(lambda txn: respond(txn, A, sender, text, admins.is_admin(txn, sender), forwards))


def test_plain_text_is_not_a_command(store):
    assert ask(store, STRANGER, "Is the 2BR in Marina still free?") is None


def test_ping_answers_pong_with_the_token(store):
    assert ask(store, STRANGER, "!ping") == ["pong"]
    assert ask(store, STRANGER, "!PING 42") == ["pong 42"]


def test_help_shows_a_stranger_only_what_a_stranger_may_use(store):
    stranger_help = ask(store, STRANGER, "!help")[0]
    admin_help = ask(store, ADMIN, "!help")[0]
    assert "!ping" in stranger_help and "!status" not in stranger_help
    chat_commands = [c for c in registry.table().values() if c.chat]
    assert len(chat_commands) >= 10
    for cmd in chat_commands:
        assert cmd.usage in admin_help
        assert (cmd.usage in stranger_help) == (not cmd.admin)


def test_unknown_command(store):
    assert ask(store, STRANGER, "!x") == ["Unknown command '!x'. Send !help."]


@pytest.mark.parametrize("text", ["!status", "!masters", "!health", "!load", "!failover",
                                  f"!handover {A}", f"!relink {A}", "!alerts"])
def test_a_stranger_gets_no_admin_command_and_the_attempt_is_logged(store, text):
    forwards = []
    assert ask(store, STRANGER, text, forwards) == [DENIED]
    assert forwards == []
    with store.read() as txn:
        denied = events.recent(txn, kinds=("admin_denied",))
    assert denied and denied[0].data["sender"] == STRANGER


def test_status_lists_every_master_with_state_health_and_conversations(store):
    reply = ask(store, ADMIN, "!status")[0]
    assert f"{A} Sales: connected, healthy, 1 conversations" in reply
    assert f"{B} Rentals: logged_out, failed, 0 conversations" in reply


def test_handover_forwards_to_the_failover_handler(store):
    forwards = []
    reply = ask(store, ADMIN, f"!handover {A} 00971553633595", forwards)
    assert "Handing over" in reply[0]
    assert [(f.command, f.args, f.chat_command) for f in forwards] == [
        ("failover.run", {"phone": A, "to": B}, "handover")]


@pytest.mark.parametrize("text, detail", [
    ("!handover", ""), ("!handover 12", "E.164"), ("!handover +971599999999", "unknown master"),
    (f"!handover {A} {A}", "itself"), (f"!handover {A} {B} {B}", ""), ("!relink", ""),
])
def test_wrong_arguments_get_the_usage_line_and_nothing_runs(store, text, detail):
    forwards = []
    reply = ask(store, ADMIN, text, forwards)[0]
    assert reply.startswith("Usage: !")
    assert detail in reply
    assert forwards == []


def test_long_replies_are_split_below_whatsapps_comfortable_size():
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(200))
    parts = split(text)
    assert len(parts) > 1 and all(len(p) <= MAX_REPLY for p in parts)
    assert "\n".join(parts) == text
    assert split("y" * (MAX_REPLY * 2 + 5)) == ["y" * MAX_REPLY, "y" * MAX_REPLY, "y" * 5]


def test_a_long_command_reply_is_sent_in_parts(store, monkeypatch):
    @registry.command("zz.long", runs_in="session", chat="zz-long", admin=False)
    def long_(call):
        """test only"""
        return "\n".join("z" * 100 for _ in range(100))
    monkeypatch.setitem(registry._chat_words(), "zz-long", long_.command)
    parts = ask(store, STRANGER, "!zz-long")
    assert len(parts) == 3 and all(len(p) <= MAX_REPLY for p in parts)


def _ts(hour: int) -> float:
    return dt.datetime(2026, 11, 29, hour, 30, tzinfo=ZoneInfo("Asia/Dubai")).timestamp()


def test_welcome_once_per_conversation_and_after_hours_outside_office_hours(store):
    chat = Chat(welcome="Welcome to White Caves!", after_hours="We are closed; we answer at 9.")

    def plain(ts):
        def fn(txn):
            conv = conversations.get(txn, STRANGER)
            return auto_replies(txn, conv, chat, ts)
        return store.write(fn)
    assert plain(_ts(10)) == ["Welcome to White Caves!"]
    assert plain(_ts(11)) == []
    assert plain(_ts(22)) == ["We are closed; we answer at 9."]


def test_auto_replies_are_off_by_default(store):
    def fn(txn):
        return auto_replies(txn, conversations.get(txn, STRANGER), Chat(), _ts(23))
    assert store.write(fn) == []
