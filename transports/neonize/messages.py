"""neonize message events → Inbound, Edited, Revoked, Reaction, Undecryptable.

Pure functions, like mapping.py (which calls them); no neonize import. What
whatsmeow (inside goneonize 0.5.2) hands over, and how it is read here:

- `Message.Message` is already unwrapped by whatsmeow (UnwrapRaw: device-sent,
  ephemeral, view-once, document-with-caption, edited wrappers). `unwrap` does it
  again anyway, so a raw message maps the same.
- An edit arrives as a protocolMessage of type MESSAGE_EDIT (key.ID = the edited
  message, editedMessage = the new content), with IsEdit set; a delete for
  everyone as a protocolMessage of type REVOKE. Any other protocolMessage
  (history sync notices, key shares, ephemeral settings) is not a chat event.
- `MessageSource.IsFromMe`: written by this account — on the phone or another
  linked device (messages this device sends are not echoed back). The customer
  is then the chat, not the sender.
- Sender: `Sender` is a phone JID or a LID (`…@lid`); whatsmeow puts the other
  form in `SenderAlt` when it knows it (AddressingMode says which one Sender is).
  For our own messages the customer is `Chat`, its other form `RecipientAlt`.
  A LID without a phone number is kept (`sender_lid`), resolved through
  `resolve_lid` when the transport gives one (neonize's LID store).
- Media: the declared mime, size, length, file name and sha256 are read from the
  message; the bytes are fetched later through `download(message)`.
"""
from __future__ import annotations

import base64
import functools
import logging
from dataclasses import dataclass
from typing import Any, Callable

from transports.events import Edited, Inbound, Location, Media, Reaction, Revoked, Undecryptable
from transports.neonize.jids import (ONE_TO_ONE_SERVERS, first, jid_string, lid_of_jid,
                                     phone_of_jid, seconds)
from transports.placeholders import contact_from_vcard, text_for

log = logging.getLogger(__name__)

# Wrappers whose `message` field holds the real content (whatsmeow's UnwrapRaw order).
_WRAPPERS = ("deviceSentMessage", "ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2",
             "viewOnceMessageV2Extension", "documentWithCaptionMessage", "editedMessage")
_REVOKE, _EDIT = "REVOKE", "MESSAGE_EDIT"


@dataclass(frozen=True)
class Inputs:
    """What the transport adds to a pure mapping."""
    download: Callable[[Any], bytes] | None = None   # E2E message → its media's bytes
    resolve_lid: Callable[[str], str] | None = None  # '…@lid' → '+E164' or ''
    offline: bool = False                            # inside the offline sync window


def from_message(ev, now: float, given: Inputs = Inputs()):
    """The domain event for a neonize Message, or None when it is not a 1:1 chat event."""
    info = ev.Info
    source = info.MessageSource
    if source.IsGroup or source.Chat.Server not in ONE_TO_ONE_SERVERS or not info.ID:
        return None   # group, status@broadcast, broadcast list, newsletter
    if not ev.HasField("Message"):
        return None
    from_me = source.IsFromMe
    sender, lid = _party(source, from_me, given.resolve_lid)
    if not sender and not lid:
        log.warning("ignoring message %s: no phone number or LID for %s", info.ID,
                    jid_string(source.Sender))
        return None
    common = dict(message_id=info.ID, sender=sender, sender_lid=lid, from_me=from_me,
                  timestamp=seconds(info.Timestamp) if info.Timestamp else now,
                  offline=given.offline)
    body = unwrap(ev.Message)
    if body.HasField("protocolMessage"):
        return _protocol(body.protocolMessage, common)
    if body.HasField("reactionMessage"):
        reaction = body.reactionMessage
        return Reaction(target_id=reaction.key.ID, emoji=reaction.text, **common)
    if ev.IsEdit or info.Edit:
        return None   # an edit in a shape whatsmeow does not produce: never a new message
    return _inbound(body, common, given.download)


def from_undecryptable(ev, now: float, given: Inputs = Inputs()) -> Undecryptable | None:
    info = ev.Info
    source = info.MessageSource
    if source.IsGroup or source.IsFromMe or source.Chat.Server not in ONE_TO_ONE_SERVERS:
        return None
    sender, lid = _party(source, False, given.resolve_lid)
    if not info.ID or not (sender or lid):
        return None
    return Undecryptable(message_id=info.ID, sender=sender, sender_lid=lid, offline=given.offline,
                         timestamp=seconds(info.Timestamp) if info.Timestamp else now)


def unwrap(message):
    """The content inside WhatsApp's wrapper messages (at most a few levels deep)."""
    for _ in range(len(_WRAPPERS)):
        for name in _WRAPPERS:
            if message.HasField(name) and getattr(message, name).HasField("message"):
                message = getattr(message, name).message
                break
        else:
            return message
    return message


# --- pieces ---------------------------------------------------------------------------------

def _party(source, from_me: bool, resolve_lid) -> tuple[str, str]:
    """(customer phone, customer LID): the sender's, or for our own message the chat's."""
    jids = (source.Chat, source.RecipientAlt) if from_me else (source.Sender, source.SenderAlt,
                                                                source.Chat)
    phone, lid = first(phone_of_jid, *jids), first(lid_of_jid, *jids)
    if not phone and lid and resolve_lid is not None:
        try:
            phone = resolve_lid(lid)
        except Exception as exc:  # noqa: BLE001 - a store lookup failing keeps the LID
            log.warning("could not look up the phone number of %s: %s", lid, exc)
    return phone, lid


def _protocol(proto, common: dict):
    kind = _enum_name(proto, "type") if proto.HasField("type") else ""
    target = proto.key.ID
    if not target:
        return None
    if kind == _REVOKE:
        return Revoked(target_id=target, **common)
    if kind == _EDIT and proto.HasField("editedMessage"):
        new = unwrap(proto.editedMessage)
        text = _text_of(new) or _caption_of(new)
        return Edited(target_id=target, text=text, **common)
    return None


def _inbound(body, common: dict, download) -> Inbound | None:
    text = _text_of(body)
    if text.strip():
        return Inbound(text=text, **common)
    found = _content(body)
    if found is None:
        return None   # polls, payments, buttons, ...: nothing a customer conversation uses
    kind, caption, fields, voice_note = found
    media = fields.get("media")
    if media is not None and download is not None:
        media = Media(**{**media.__dict__, "fetch": functools.partial(download, body),
                         "ref": base64.b64encode(body.SerializeToString()).decode()})   # keys, path: all a refetch needs
        fields["media"] = media
    text = text_for(kind, caption, media=media, location=fields.get("location"),
                    contact=fields.get("contact"), voice_note=voice_note)
    return Inbound(text=text, kind=kind, **fields, **common)


def _content(body):
    """(kind, caption, {media|location|contact}, voice_note) of a non-text message."""
    if body.HasField("imageMessage"):
        m = body.imageMessage
        return "image", m.caption, {"media": _media(m)}, False
    for name in ("videoMessage", "ptvMessage"):
        if body.HasField(name):
            m = getattr(body, name)
            return "video", getattr(m, "caption", ""), {"media": _media(m, m.seconds)}, False
    if body.HasField("audioMessage"):
        m = body.audioMessage
        return "voice", "", {"media": _media(m, m.seconds)}, m.PTT
    if body.HasField("documentMessage"):
        m = body.documentMessage
        return "document", m.caption, {"media": _media(m, file_name=m.fileName or m.title)}, False
    if body.HasField("stickerMessage"):
        return "sticker", "", {"media": _media(body.stickerMessage)}, False
    for name, caption in (("locationMessage", "comment"), ("liveLocationMessage", "caption")):
        if body.HasField(name):
            m = getattr(body, name)
            where = Location(lat=m.degreesLatitude, lon=m.degreesLongitude,
                             name=getattr(m, "name", ""), address=getattr(m, "address", ""))
            return "location", getattr(m, caption), {"location": where}, False
    if body.HasField("contactMessage"):
        m = body.contactMessage
        return "contact", "", {"contact": contact_from_vcard(m.vcard, m.displayName)}, False
    if body.HasField("contactsArrayMessage") and body.contactsArrayMessage.contacts:
        m = body.contactsArrayMessage.contacts[0]
        return "contact", "", {"contact": contact_from_vcard(m.vcard, m.displayName)}, False
    return None


def _media(m, length: int = 0, file_name: str = "") -> Media:
    return Media(mime=m.mimetype, size=m.fileLength, seconds=length, file_name=file_name,
                 sha256=m.fileSHA256.hex())


def _text_of(message) -> str:
    if message.HasField("conversation"):
        return message.conversation
    if message.HasField("extendedTextMessage") and message.extendedTextMessage.HasField("text"):
        return message.extendedTextMessage.text
    return ""


def _caption_of(message) -> str:
    found = _content(message)
    return found[1] if found else ""


def _enum_name(message, field: str) -> str:
    enum = message.DESCRIPTOR.fields_by_name[field].enum_type
    value = enum.values_by_number.get(getattr(message, field))
    return value.name if value is not None else str(getattr(message, field))

