"""The domain's own WhatsApp events.

Every transport (the neonize adapter, the simulated network) turns what its
library reports into these small types, so the master session never sees a
library object. Names are part of the contract: keep them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Connected:
    """The stream is up and the account can send and receive."""


@dataclass(frozen=True)
class Disconnected:
    """A transient drop (network, keep-alive timeout): reconnect with backoff."""
    reason: str = ""
    # the library redials by itself (whatsmeow's EnableAutoReconnect): the session waits
    # [session] reconnect_grace_s for its Connected before stepping in (masters/reconnect.py)
    redialing: bool = False


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


# What an inbound message is (its `kind`); the placeholders say each in words.
MESSAGE_KINDS = ("text", "image", "video", "voice", "document", "location", "contact", "sticker")
MEDIA_KINDS = ("image", "video", "voice", "document", "sticker")   # the ones with a file


@dataclass(frozen=True)
class Media:
    """A file that came with a message: what the sender declared, and how to get the bytes.

    `fetch()` downloads the bytes (neonize: from WhatsApp's media servers, through the
    connection that received the message; the sim: from the sim server). It blocks for
    as long as the download takes and raises TransportError when it fails: call it off
    the session's thread. It is not part of equality.
    """
    mime: str = ""
    size: int = 0              # bytes, as declared by the sender (0: not given)
    seconds: int = 0           # voice note / video length
    file_name: str = ""        # documents
    sha256: str = ""           # hex of the plain file, as declared ("" when not given)
    fetch: Callable[[], bytes] | None = field(default=None, compare=False, repr=False)
    # What the transport's media_fetch(ref) needs to fetch it again in a later process
    # (conversations/media_resume.py); "" when it cannot.
    ref: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float
    name: str = ""
    address: str = ""


@dataclass(frozen=True)
class ContactCard:
    name: str = ""
    phone: str = ""            # E.164 from the vCard's first TEL, "" when it has none
    vcard: str = ""


@dataclass(frozen=True)
class Inbound:
    """A message in a one-to-one chat of this account.

    `sender` is the customer, E.164. WhatsApp may hide it behind a LID
    (`sender_lid`, e.g. "123456789012345@lid"): then `sender` is "" until the
    phone number is known (see LidResolved). `from_me`: a person typed it on the
    master's phone (or another linked device) to that customer; never something
    this runtime sent. `text` is the text, a media caption, or a placeholder
    ("[voice note 14 s]", transports/placeholders.py), so text-only code keeps
    working. `offline`: it arrived inside WhatsApp's offline sync (the backlog
    held while this account was disconnected). `timestamp` is when it was
    written, as WhatsApp stamped it — for a backlog, possibly hours ago.
    """
    message_id: str
    sender: str      # E.164, e.g. "+971501234567"; "" for a LID not yet resolved
    text: str
    timestamp: float  # Unix seconds, as WhatsApp stamped it
    kind: str = "text"                     # one of MESSAGE_KINDS
    media: Media | None = None             # for MEDIA_KINDS
    location: Location | None = None       # kind "location"
    contact: ContactCard | None = None     # kind "contact"
    from_me: bool = False
    sender_lid: str = ""
    offline: bool = False

    @property
    def customer(self) -> str:
        """The key of the customer's conversation: the phone, else the LID."""
        return self.sender or self.sender_lid


@dataclass(frozen=True)
class Edited:
    """The author changed message `target_id`; `text` is its new text."""
    message_id: str
    target_id: str
    sender: str
    text: str
    timestamp: float
    sender_lid: str = ""
    from_me: bool = False
    offline: bool = False


@dataclass(frozen=True)
class Revoked:
    """The author deleted message `target_id` for everyone."""
    message_id: str
    target_id: str
    sender: str
    timestamp: float
    sender_lid: str = ""
    from_me: bool = False
    offline: bool = False


@dataclass(frozen=True)
class Reaction:
    """An emoji on message `target_id`; `emoji` "" means the reaction was taken back."""
    message_id: str
    target_id: str
    sender: str
    emoji: str
    timestamp: float
    sender_lid: str = ""
    from_me: bool = False
    offline: bool = False


@dataclass(frozen=True)
class Undecryptable:
    """A message WhatsApp delivered that could not be decrypted (its content is lost)."""
    message_id: str
    sender: str
    timestamp: float
    sender_lid: str = ""
    offline: bool = False


@dataclass(frozen=True)
class OfflineSyncStarted:
    """After a (re)connect: WhatsApp starts delivering what arrived while we were away.

    Every message event until OfflineSyncCompleted has `offline` set. `messages` is how
    many messages WhatsApp announced (0 when it did not say)."""
    messages: int = 0
    total: int = 0             # every kind of backlog item (messages, receipts, notifications)


@dataclass(frozen=True)
class OfflineSyncCompleted:
    """The offline backlog is fully delivered; `count` items came in it."""
    count: int = 0


@dataclass(frozen=True)
class LidResolved:
    """The phone number behind a LID became known (merge its conversation into the phone's)."""
    lid: str
    phone: str


@dataclass(frozen=True)
class Receipt:
    """Delivery/read receipt for messages this account sent."""
    message_ids: tuple[str, ...]
    kind: str = "delivered"   # delivered | read | played
    sender: str = ""


Event = (Connected | Disconnected | LoggedOut | Banned | Replaced | Outdated
         | ConnectFailed | QRCode | PairingCode | Paired | Inbound | Receipt
         | Edited | Revoked | Reaction | Undecryptable | OfflineSyncStarted
         | OfflineSyncCompleted | LidResolved)

# Events about conversations other than a new message; the device state ignores them.
CONVERSATION_EVENTS = (Edited, Revoked, Reaction, Undecryptable, OfflineSyncStarted,
                       OfflineSyncCompleted, LidResolved)

# Events after which the device must not reconnect by itself.
DEAD_EVENTS = (LoggedOut, Banned, Outdated)
