"""The domain's own WhatsApp events.

Every transport (the neonize adapter, the simulated network) turns what its
library reports into these small types, so the master session never sees a
library object. Names are part of the contract: keep them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Connected:
    """The stream is up and the account can send and receive."""


@dataclass(frozen=True)
class Disconnected:
    """A transient drop (network, keep-alive timeout): reconnect with backoff."""
    reason: str = ""


@dataclass(frozen=True)
class LoggedOut:
    """The account was unlinked (from the phone, or by WhatsApp). Dead until a relink."""
    reason: str = ""


@dataclass(frozen=True)
class Banned:
    """A temporary ban. `expires_ts` is a Unix time; 0 when WhatsApp gave none."""
    code: int = 0
    expires_ts: float = 0.0


@dataclass(frozen=True)
class Replaced:
    """Another device took over this account's stream."""


@dataclass(frozen=True)
class Outdated:
    """WhatsApp refuses this client version. Dead until the software is updated."""


@dataclass(frozen=True)
class ConnectFailed:
    """Connecting failed; `reason` says why (network, server refusal, ...)."""
    reason: str = ""
    permanent: bool = False


@dataclass(frozen=True)
class QRCode:
    """Pairing data to show as a QR code for the phone to scan."""
    data: str


@dataclass(frozen=True)
class PairingCode:
    """A code to type on the phone (Linked devices → Link with phone number)."""
    code: str


@dataclass(frozen=True)
class Paired:
    """The phone accepted the pairing; `jid` is this device's WhatsApp id."""
    jid: str = ""


@dataclass(frozen=True)
class Inbound:
    """A text message from a customer to this account."""
    message_id: str
    sender: str      # E.164, e.g. "+971501234567"
    text: str
    timestamp: float  # Unix seconds, as WhatsApp stamped it


@dataclass(frozen=True)
class Receipt:
    """Delivery/read receipt for messages this account sent."""
    message_ids: tuple[str, ...]
    kind: str = "delivered"   # delivered | read | played
    sender: str = ""


Event = (Connected | Disconnected | LoggedOut | Banned | Replaced | Outdated
         | ConnectFailed | QRCode | PairingCode | Paired | Inbound | Receipt)

# Events after which the device must not reconnect by itself.
DEAD_EVENTS = (LoggedOut, Banned, Outdated)
