"""What a send's outcome means for its outbox entry: pure policy.

Three classes (issue 15): delivered; transient (the network, a timeout, not
connected: retried with backoff); final (the number is not on WhatsApp, has
blocked us, or is no phone number at all: dead-lettered at once with that
reason, never retried — retrying a send to a number that is not on WhatsApp
is exactly the pattern WhatsApp's anti-spam watches for).
"""
from __future__ import annotations

from dataclasses import dataclass

from transports.base import FINAL_REASONS, TransportError

DELIVERED, TRANSIENT, FINAL = "delivered", "transient", "final"


@dataclass(frozen=True)
class Outcome:
    kind: str            # DELIVERED | TRANSIENT | FINAL
    reason: str = ""     # FINAL: one of transports.base.FINAL_REASONS
    error: str = ""      # the transport's words, kept as the entry's last_error


def classify(error: BaseException | None) -> Outcome:
    """The class of a finished send (error None: it was delivered).

    Anything but a TransportError is a bug in a transport, not a verdict on the number:
    transient, so the entry is not lost."""
    if error is None:
        return Outcome(DELIVERED)
    if isinstance(error, TransportError) and not error.retryable:
        reason = error.reason if error.reason in FINAL_REASONS else "invalid"
        return Outcome(FINAL, reason, f"{reason}: {error}")
    return Outcome(TRANSIENT, error=str(error) or type(error).__name__)


def retry_delay(attempts: int, min_s: float, max_s: float) -> float:
    """Seconds before the next try after `attempts` failed ones (doubling, capped)."""
    return min(max_s, min_s * 2 ** attempts)
