"""When the bot keeps quiet: the rules that stop automatic replies (issue 14, "Loops").

Automatic replies are the welcome, the after-hours note and the answer to an
unknown command: things the bot says without a person or a real command asking.
They stop when
- a person answered from the master's phone within `[chat] human_mute_s`
  (`Conversation.human_until`), until it runs out or `!bot on` ends it;
- the contact already had `[chat] auto_reply_budget` of them in the last hour
  (another bot answering our after-hours note cannot keep us talking);
- the sender is one of the agency's own master numbers;
- the conversation is keyed by a LID (no phone number to send to yet).
"""
from __future__ import annotations

from storage import conversations, masters

BUDGET_WINDOW_S = 3600.0


def is_lid(customer: str) -> bool:
    return customer.endswith("@lid")


def muted(conv: conversations.Conversation, now: float) -> bool:
    """A person answered from the phone recently: the bot stays out of it."""
    return conv.human_until > now


def silenced(txn, conv: conversations.Conversation, now: float) -> bool:
    """No automatic reply at all in this conversation now."""
    return muted(conv, now) or is_lid(conv.customer) or masters.get(txn, conv.customer) is not None


def within_budget(conv: conversations.Conversation, replies: list[str], budget: int,
                  now: float) -> list[str]:
    """The first replies the hourly budget still allows; their times are recorded on `conv`.

    The caller stores `conv` (it is changed in place)."""
    recent = [t for t in conv.auto_sent if now - t < BUDGET_WINDOW_S]
    allowed = replies[:max(0, budget - len(recent))]
    conv.auto_sent = recent + [now] * len(allowed)
    return allowed


def unmute(txn, customer: str) -> bool:
    """`!bot on`: end a person's quiet period early; False when it was not muted."""
    conv = conversations.get(txn, customer)
    if conv is None or not conv.human_until:
        return False
    conv.human_until = 0.0
    conversations.put(txn, conv)
    return True
