"""The words that stand for a message without text: "[voice note 14 s]", "[photo]".

Both transports (neonize and the sim) build an inbound message's `text` here, so a
customer's voice note reads the same in the conversation whichever network brought
it. A caption, when the sender wrote one, is the text instead.
"""
from __future__ import annotations

import re

from transports.events import ContactCard, Location, Media

_TEL = re.compile(r"^TEL[^:]*:(.*)$", re.I | re.M)
_WAID = re.compile(r"waid=(\d+)", re.I)
_FN = re.compile(r"^FN[^:]*:(.*)$", re.I | re.M)


def text_for(kind: str, caption: str = "", media: Media | None = None,
             location: Location | None = None, contact: ContactCard | None = None,
             voice_note: bool = True) -> str:
    """The caption if there is one, else a short placeholder in square brackets."""
    if caption.strip():
        return caption
    media = media or Media()
    if kind == "image":
        return "[photo]"
    if kind == "video":
        return f"[video {media.seconds} s]" if media.seconds else "[video]"
    if kind == "voice":
        what = "voice note" if voice_note else "audio"
        return f"[{what} {media.seconds} s]" if media.seconds else f"[{what}]"
    if kind == "document":
        return f"[document {media.file_name}]" if media.file_name else "[document]"
    if kind == "sticker":
        return "[sticker]"
    if kind == "location" and location is not None:
        where = f"[location {_coordinate(location.lat)},{_coordinate(location.lon)}"
        name = location.name or location.address
        return f"{where} {name}]" if name else f"{where}]"
    if kind == "contact" and contact is not None:
        words = " ".join(w for w in (contact.name, contact.phone) if w)
        return f"[contact {words}]" if words else "[contact]"
    return f"[{kind}]"


def _coordinate(value: float) -> str:
    """25.2 stays 25.2; 25.204849 becomes 25.204849 (no float noise like 25.200000000001)."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def contact_from_vcard(vcard: str, display_name: str = "") -> ContactCard:
    """Name and E.164 phone read from a vCard (WhatsApp's carry `waid=<digits>`)."""
    name = display_name
    if not name:
        found = _FN.search(vcard)
        name = found.group(1).strip() if found else ""
    phone = ""
    tel = _TEL.search(vcard)
    if tel:
        waid = _WAID.search(tel.group(0))
        digits = waid.group(1) if waid else re.sub(r"\D", "", tel.group(1))
        phone = f"+{digits}" if 7 <= len(digits) <= 15 else ""
    return ContactCard(name=name, phone=phone, vcard=vcard)


def vcard_for(phone: str, name: str = "") -> str:
    """A minimal vCard 3.0 as WhatsApp builds one for a shared contact."""
    digits = phone.lstrip("+")
    return (f"BEGIN:VCARD\nVERSION:3.0\nFN:{name or phone}\n"
            f"TEL;type=CELL;type=VOICE;waid={digits}:{phone}\nEND:VCARD")
