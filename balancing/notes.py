"""How a failover's hand-over note reaches the customers: pure policy (issue 15).

Dozens of unsolicited "continuing your conversation" messages from a number
the customers never wrote to is how a second account gets banned. So:

- `on_next_message` (the default): the new master sends the note just before
  its first message to that customer — in practice its first reply, once the
  customer writes again (storage/handover_notes.py holds it till then).
- `paced`: the notes are queued at once but sent under the campaign limits
  (daily cap, hours, gaps: balancing/ratelimit.py), never as a burst; a
  customer who writes before their note's turn gets it at once, just before
  the reply (balancing/dispatch.py): a reply never waits behind a note.

After a ban the banned number's customers are not messaged in bulk by anyone:
the notes wait for each customer's next message whatever the mode. A restore
sends no note at all: the customer is back with the number they wrote to.
"""
from __future__ import annotations

from runtime.vocabulary import NOTE_MODES

ON_NEXT_MESSAGE, PACED = NOTE_MODES


def note_mode(configured: str, reason: str) -> str:
    """The mode for one failover: `configured`, except after a ban (`reason` names it)."""
    if configured not in NOTE_MODES:
        raise ValueError(f"note_mode: one of {', '.join(NOTE_MODES)}, got {configured!r}")
    return ON_NEXT_MESSAGE if "banned" in reason else configured


def owes_note(entry_kind: str) -> bool:
    """Does a message of this outbox kind go out only after the customer's waiting note?"""
    return entry_kind not in ("handover", "alert")
