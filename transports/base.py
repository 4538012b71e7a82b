"""The transport interface that the master session drives.

A transport owns one WhatsApp connection for one master. It never blocks the
caller for long: `connect` starts connecting and returns; what happens next
arrives as events (transports/events.py) through `poll()`. `fileno()` becomes
readable whenever events are waiting, so an actor can watch it with
thespian's ThespianWatch instead of polling on a timer.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from transports.events import Event


# Why a send can never succeed (a final outcome: dead letter at once, no retry).
FINAL_REASONS = ("not_on_whatsapp", "blocked", "invalid")


@dataclass(frozen=True)
class OutboundMedia:
    """A file to send, its text the caption: checked before queueing (balancing/media.py)."""
    kind: str          # image | document | video
    data: bytes
    mime: str
    file_name: str


class TransportError(Exception):
    """A send or control call failed; `retryable` says whether to try again later.

    A final failure (retryable=False) names its `reason`, one of FINAL_REASONS."""

    def __init__(self, message: str, retryable: bool = True, reason: str = ""):
        super().__init__(message)
        if reason and reason not in FINAL_REASONS:
            raise ValueError(f"reason: one of {', '.join(FINAL_REASONS)}, got {reason!r}")
        self.retryable = retryable
        self.reason = reason or ("" if retryable else "invalid")


class Transport(Protocol):
    phone: str  # the master's own number, E.164

    def connect(self) -> None:
        """Start connecting (non-blocking). Emits Connected, ConnectFailed, QRCode, ..."""

    def pair(self, phone_code: bool = False) -> None:
        """Start pairing: emits QRCode events, or a PairingCode when phone_code is set."""

    def send(self, to: str, text: str, idempotency_key: str, media: OutboundMedia | None = None) -> str:
        """Send a text (or `media` with the text as its caption); return WhatsApp's message id.
        Raises TransportError."""

    def presence(self, to: str, composing: bool) -> None:
        """Show "typing…" in `to`'s chat (composing), or stop showing it. Returns at once."""

    def typing(self, to: str, seconds: float) -> None:
        """presence on, `seconds` (blocking), presence off: for a caller that may wait."""

    def mark_read(self, customer: str, message_ids: list[str]) -> None:
        """Blue ticks: tell `customer` their messages were read."""

    def ack(self, message_id: str) -> None:
        """Tell the network an inbound message is safely persisted (sim: stops redelivery)."""

    def disconnect(self) -> None:
        """Close the connection, keeping the link (session) for the next connect."""

    def logout(self) -> None:
        """Unlink this device; the next connect needs pairing again."""

    def fileno(self) -> int:
        """A descriptor that is readable while events are waiting in poll()."""

    def poll(self) -> list[Event]:
        """Take every event waiting, oldest first; never blocks."""

    def close(self) -> None:
        """Release threads and sockets. Safe to call twice."""
