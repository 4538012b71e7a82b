"""Commands about conversations waiting for a person (issue 14): the waiting list, one
conversation's messages, and `!bot on` (the bot may answer again after a person did).

Registered in commands/registry.py's MODULES; the CLI is cli_commands/conversations.py.
"""
from __future__ import annotations

from commands.registry import CommandError, UsageError, command
from conversations.quiet import is_lid, unmute
from runtime.phone import BadPhone, normalize
from storage import conversations


def customer_key(text: str) -> str:
    """A customer as typed: a phone (normalised to E.164) or a LID ('…@lid') as it is."""
    text = (text or "").strip()
    if is_lid(text):
        return text
    try:
        return normalize(text)
    except BadPhone as e:
        raise UsageError(str(e)) from None


def message_row(m: conversations.Message, answered: bool) -> dict:
    """One message as `conversations show --json` prints it."""
    row = {"at": m.ts, "direction": m.direction, "author": m.who, "kind": m.kind, "text": m.text,
           "media": m.media, "answered": answered}
    if m.media_state:
        row["media_state"] = m.media_state
    if m.original_text is not None:
        row["original_text"] = m.original_text
    if m.deleted:
        row["deleted"] = True
    if m.reactions:
        row["reactions"] = dict(m.reactions)
    if m.held:
        row["backlog"] = True
    return row


def show_rows(messages: list[conversations.Message]) -> list[dict]:
    """Messages in order; a customer's message is answered when a reply was queued for it or
    anything went out (bot or person) after it. Outbound rows are answers, not questions."""
    rows, later_out = [], False
    for m in reversed(messages):
        rows.append(message_row(m, m.direction == "out" or m.answered or later_out))
        later_out = later_out or (m.direction == "out" and m.who != "note")
    return rows[::-1]


@command("conversations.waiting")
def conversations_waiting(gw):
    """Conversations whose last customer message nobody answered, oldest first"""
    with gw.store.read() as txn:
        out = []
        for c in conversations.waiting(txn):
            last = next((m for m in reversed(conversations.messages(txn, c.customer))
                         if m.direction == "in"), None)
            out.append({"customer": c.customer, "master": c.master, "waiting_since": c.waiting_since,
                        "messages": c.messages, "last_text": last.text if last else "",
                        "muted_until": c.human_until or None})
        return out


@command("conversations.show")
def conversations_show(gw, customer: str):
    """One conversation's messages, in order"""
    key = customer_key(customer)
    with gw.store.read() as txn:
        if conversations.get(txn, key) is None:
            raise CommandError(f"no conversation with {key}")
        return show_rows(conversations.messages(txn, key))


def _bot_on_check(txn, state: str, customer: str) -> None:
    if state.lower() != "on":
        raise UsageError("only 'on' (the bot goes quiet by itself when a person answers)")
    if conversations.get(txn, customer_key(customer)) is None:
        raise UsageError(f"no conversation with {customer_key(customer)}")


@command("conversations.bot_on", chat="bot", usage="!bot on +CUSTOMER", check=_bot_on_check,
         ack="Bot back on with {customer}…", reply=lambda d: (
             f"The bot answers {d['customer']} again." if d["was_muted"]
             else f"The bot was not quiet with {d['customer']}."))
def bot_on(gw, state: str, customer: str):
    """Let the bot answer a customer again before a person's quiet time runs out"""
    key = customer_key(customer)
    with gw.store.read() as txn:
        _bot_on_check(txn, state, key)
    return {"customer": key, "was_muted": gw.store.write(lambda txn: unmute(txn, key))}
