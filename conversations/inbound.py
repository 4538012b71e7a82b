"""The inbound rule: one batch of a master's inbound messages → stored, answered, forwarded.

Pure but for the store transaction it is given: the session (actors/session.py)
calls it inside ONE LMDB write transaction and acknowledges the messages to the
network only after that commits, so a crash at any instruction neither loses
a message nor handles it twice. Tests call it with a real store and events.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from chat import auto_replies, respond
from chat.dispatch import Forward
from storage import admins, conversations, dedupe, metrics, outbox
from transports import events as ev


@dataclass
class Handled:
    """One new message and what was done about it."""
    event: ev.Inbound
    replies: int = 0                                         # put in the outbox
    forwards: list[Forward] = field(default_factory=list)    # commands for the gateway to run


def handle_inbound(txn, master: str, batch: list[ev.Inbound], chat_config, config=None) -> list[Handled]:
    """Store each new message of `batch` in its conversation and queue its replies.

    A message id already seen by this master is a redelivery: skipped.
    Replies: a chat command's answer, or (for a plain message) the configured
    welcome / after-hours note; each reply's outbox key is derived from the
    message id, so handling the same message twice cannot queue it twice.
    `config` (the daemon's Config) is what chat commands run here may read.
    """
    handled = []
    for event in batch:
        if not dedupe.mark(txn, master, event.message_id):
            continue  # a redelivery: already handled
        conv = conversations.add_message(txn, conversations.Message(
            customer=event.sender, master=master, direction="in", text=event.text,
            ts=event.timestamp, message_id=event.message_id))
        metrics.incr(txn, f"messages_in:{master}")
        forwards: list[Forward] = []
        replies = respond(txn, master, event.sender, event.text, admins.is_admin(txn, event.sender), forwards,
                          config)
        if replies is None:
            replies = auto_replies(txn, conv, chat_config, event.timestamp)
        for i, reply in enumerate(replies):
            outbox.enqueue(txn, event.sender, reply, kind="reply",
                           key=f"reply:{master}:{event.message_id}:{i}", master=conv.master)
        handled.append(Handled(event, len(replies), forwards))
    return handled
