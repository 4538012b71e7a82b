"""What a failed neonize send means: transient, or final with a reason (issue 15).

whatsmeow reports a send's failure as text; goneonize hands it to Python
unchanged. Most failures are transient (the connection is down, a timeout,
a server hiccup) and the outbox retries them with backoff. A few can never
succeed, and retrying them is what WhatsApp's anti-spam watches for: a
number that is not on WhatsApp (whatsmeow: "no LID found for … from server",
docs/architecture.md "Facts about the parts"), a recipient that blocked
this account, an address that is no phone number. Those are final: one
attempt, then a dead letter with the reason (transports/base.py FINAL_REASONS).
"""
from __future__ import annotations

from transports.base import TransportError

# (fragment of whatsmeow's text, lower case) -> final reason; first match wins.
FINAL_SEND_ERRORS: tuple[tuple[str, str], ...] = (
    ("no lid found", "not_on_whatsapp"),
    ("not on whatsapp", "not_on_whatsapp"),
    ("not registered on whatsapp", "not_on_whatsapp"),
    ("blocked", "blocked"),
    ("invalid jid", "invalid"),
    ("failed to parse jid", "invalid"),
    ("invalid phone", "invalid"),
)


def final_reason(message: str) -> str:
    """The final reason a send failure's text names, or '' when it is transient."""
    low = message.lower()
    return next((reason for fragment, reason in FINAL_SEND_ERRORS if fragment in low), "")


def classify_send(error: TransportError) -> TransportError:
    """`error` itself when transient; a final TransportError (same words) when it is not."""
    reason = final_reason(str(error))
    if not reason or not error.retryable:
        return error
    return TransportError(str(error), retryable=False, reason=reason)
