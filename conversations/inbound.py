"""The inbound rule: one batch of a master's inbound events → stored, answered, forwarded.

Pure but for the store transaction it is given: the session (actors/session.py)
calls it inside ONE LMDB write transaction and acknowledges the messages to the
network only after that commits, so a crash at any instruction neither loses
a message nor handles it twice. Tests call it with a real store and events.

What it decides for each message (issue 14):
- backlog (conversations/backlog.py): stored, the conversation waits for a
  person, nothing answered, no command run;
- a person typing on the master's phone (`from_me`): stored as outbound by a
  human, and the bot keeps quiet in that conversation (conversations/quiet.py);
- a customer's message of any kind (text, photo, voice note, ...): stored with
  its kind, a command answered, else the welcome / after-hours note within the
  quiet rules; a conversation nobody answered waits for a person;
- edits, revokes, reactions, undecryptable messages and LID senders:
  conversations/changes.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from chat import auto_replies, respond
from chat.dispatch import Forward
from commands import registry
from conversations.backlog import is_backlog
from conversations import media_resume
from conversations.changes import Resolver, apply_change, customer_of, lid_resolved, undecryptable
from conversations.quiet import is_lid, silenced, unmute, within_budget
from storage import admins, conversations, dedupe, metrics, outbox
from transports import events as ev

BOT_ON = "!bot on"   # typed on the master's phone into a customer's chat: the bot may talk again


@dataclass(frozen=True)
class Rules:
    """What the rule needs besides the chat config: the time now, the backlog age, a LID lookup."""
    now: float
    backlog_max_age_s: float = 600.0
    resolve: Resolver | None = None
    # leads(txn, master, customer, message, first) after a customer's message is stored: opens a lead or
    # relays it to the agent (agents/inbound.py; the session sets it, as agents/ sits above conversations/)
    leads: Callable | None = None


@dataclass
class Handled:
    """One new event and what was done about it."""
    event: object                                            # ev.Inbound, or a change / undecryptable
    customer: str = ""                                       # its conversation's key
    replies: int = 0                                         # put in the outbox
    forwards: list[Forward] = field(default_factory=list)    # commands for the gateway to run
    held: bool = False                                       # backlog: stored, not answered
    fetch: bool = False                                      # a media file to download
    reply_ids: list[int] = field(default_factory=list)       # the replies' outbox entries

    @property
    def from_customer(self) -> bool:
        return isinstance(self.event, (ev.Inbound, ev.Undecryptable)) and not getattr(self.event, "from_me", False)


def handle_inbound(txn, master: str, batch: list, chat_config, rules: Rules, config=None) -> list[Handled]:
    """Store each new event of `batch` and queue its replies.

    An id already seen by this master is a redelivery: skipped. Each reply's
    outbox key is derived from the message id, so handling the same message twice
    cannot queue it twice. `config` (the daemon's Config) is what chat commands
    run here may read.
    """
    handled = []
    for event in batch:
        if isinstance(event, ev.LidResolved):
            lid_resolved(txn, event.lid, event.phone)
            continue
        if not dedupe.mark(txn, master, event.message_id):
            continue  # a redelivery: already handled
        customer = customer_of(txn, event.sender, event.sender_lid, rules.resolve)
        held = is_backlog(event.timestamp, event.offline, rules.now, rules.backlog_max_age_s)
        if isinstance(event, (ev.Edited, ev.Revoked, ev.Reaction)):
            apply_change(txn, master, event, customer)
            handled.append(Handled(event, customer))
        elif isinstance(event, ev.Undecryptable):
            undecryptable(txn, master, event, customer)
            handled.append(Handled(event, customer, held=held))
        elif event.from_me:
            handled.append(_from_phone(txn, master, event, customer, chat_config))
        else:
            handled.append(_from_customer(txn, master, event, customer, held, chat_config, rules.now, config,
                                          rules.leads))
    media_resume.note(txn, master, handled)   # a later process can fetch what this one could not
    return handled


def _wants_file(event: ev.Inbound) -> bool:
    return event.kind in ev.MEDIA_KINDS and event.media is not None and event.media.fetch is not None


def _message(event: ev.Inbound, customer: str, master: str, **fields) -> conversations.Message:
    return conversations.Message(
        customer=customer, master=master, text=event.text, ts=event.timestamp,
        message_id=event.message_id, kind=event.kind,
        media_state="pending" if _wants_file(event) else "", **fields)


def _from_phone(txn, master: str, event: ev.Inbound, customer: str, chat) -> Handled:
    """A person answered on the master's phone: outbound by a human; the bot keeps quiet."""
    if event.text.strip().lower() == BOT_ON:
        unmute(txn, customer)
        conversations.add_message(txn, _message(event, customer, master, direction="out", author="note"))
    else:
        conv = conversations.add_message(txn, _message(event, customer, master, direction="out",
                                                       author="human"))
        conv.human_until = max(conv.human_until, event.timestamp + chat.human_mute_s)
        conversations.put(txn, conv)
    return Handled(event, customer, fetch=_wants_file(event))


def _from_customer(txn, master: str, event: ev.Inbound, customer: str, held: bool, chat,
                   now: float, config=None, leads: Callable | None = None) -> Handled:
    forwards: list[Forward] = []
    replies: list[str] = []
    first = conversations.get(txn, customer) is None
    if not held:
        conv = conversations.get(txn, customer) or conversations.Conversation(customer=customer, master=master)
        replies = _replies(txn, master, customer, conv, event.text, chat, now, forwards, config)
        conversations.put(txn, conv)
    msg = _message(event, customer, master, direction="in", author="customer", answered=bool(replies), held=held)
    conv = conversations.add_message(txn, msg)
    if leads is not None and not is_lid(customer):
        leads(txn, master, customer, msg, first)
    metrics.incr(txn, f"messages_in:{master}")
    if replies:
        conv.waiting_since = 0.0
    elif not conv.waiting_since:
        conv.waiting_since = event.timestamp
    conversations.put(txn, conv)
    ids = []
    for i, reply in enumerate(replies):
        entry, new = outbox.enqueue(txn, customer, reply, kind="reply",
                                    key=f"reply:{master}:{event.message_id}:{i}", master=conv.master)
        if new:
            ids.append(entry.id)
    return Handled(event, customer, len(replies), forwards, held=held, fetch=_wants_file(event),
                   reply_ids=ids)


def _replies(txn, master, customer, conv, text, chat, now, forwards, config=None) -> list[str]:
    """A command's answer, else the automatic replies the quiet rules still allow.

    Nothing for a LID-keyed conversation: there is no number to answer yet."""
    if is_lid(customer):
        return []
    replies = respond(txn, master, customer, text, admins.is_admin(txn, customer), forwards, config)
    if replies is not None and not _automatic(text, replies):
        return replies
    if silenced(txn, conv, now):
        return []
    if replies is None:
        replies = auto_replies(txn, conv, chat, now)
    return within_budget(conv, replies, chat.auto_reply_budget, now)


def _automatic(text: str, replies: list[str]) -> bool:
    """An unknown command's answer: the bot talking on its own (DENIED is a real command's
    answer, as the chat tests expect: a stranger is told each time)."""
    word = text.strip().split()[0][1:].lower()
    return registry.by_chat_word(word) is None
