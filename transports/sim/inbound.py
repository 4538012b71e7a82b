"""The sim's message pushes → the domain's events (transports/events.py).

The sim carries a message's parts as they are (a caption, a file's metadata, a
location); the text a caption-less one reads as comes from transports/placeholders.py,
as for neonize. A file's bytes stay on the sim server until `fetch()` asks for them.
"""
from __future__ import annotations

import functools
from typing import Callable

from transports.base import TransportError
from transports.events import (ContactCard, Edited, Event, Inbound, LidResolved, Location, Media,
                               OfflineSyncCompleted, OfflineSyncStarted, Reaction, Revoked)
from transports.placeholders import text_for, vcard_for
from transports.sim import control


def event_from_push(frame: dict, fetch: Callable[[str], bytes]) -> Event | None:
    """The event for a message-related push, or None for any other push.

    `fetch(media_id)` gets a file's bytes from the sim (becomes Media.fetch)."""
    kind = frame["event"]
    if kind == "inbound" and frame.get("change"):
        return _change(frame)
    if kind == "inbound":
        return _inbound(frame, fetch)
    if kind == "offline_sync_started":
        return OfflineSyncStarted(messages=int(frame.get("messages", 0)),
                                  total=int(frame.get("messages", 0)))
    if kind == "offline_sync_completed":
        return OfflineSyncCompleted(count=int(frame.get("count", 0)))
    if kind == "lid_resolved":
        return LidResolved(lid=frame["lid"], phone=frame["phone"])
    return None


def _change(frame: dict) -> Edited | Revoked | Reaction:
    common = dict(message_id=frame["message_id"], target_id=frame["target"],
                  sender=frame["from"], timestamp=frame["ts"],
                  offline=bool(frame.get("offline")))
    change = frame["change"]
    if change == "edit":
        return Edited(text=frame["text"], **common)
    if change == "revoke":
        return Revoked(**common)
    return Reaction(emoji=frame["text"], **common)


def _inbound(frame: dict, fetch: Callable[[str], bytes]) -> Inbound:
    kind = frame.get("kind", "text")
    media = location = contact = None
    voice_note = True
    if frame.get("media"):
        m = frame["media"]
        voice_note = m.get("voice_note", True)
        media = Media(mime=m.get("mime", ""), size=m.get("size", 0), seconds=m.get("seconds", 0),
                      file_name=m.get("file_name", ""), sha256=m.get("sha256", ""),
                      fetch=functools.partial(fetch, m["id"]), ref=m["id"])
    if frame.get("location"):
        loc = frame["location"]
        location = Location(lat=loc["lat"], lon=loc["lon"], name=loc.get("name", ""))
    if frame.get("contact"):
        c = frame["contact"]
        contact = ContactCard(name=c.get("name", ""), phone=c["phone"],
                              vcard=vcard_for(c["phone"], c.get("name", "")))
    text = frame["text"]
    if kind != "text":
        text = text_for(kind, text, media=media, location=location, contact=contact,
                        voice_note=voice_note)
    return Inbound(frame["message_id"], frame["from"], text, frame["ts"], kind=kind, media=media,
                   location=location, contact=contact, from_me=bool(frame.get("from_me")),
                   sender_lid=frame.get("from_lid", ""), offline=bool(frame.get("offline")))


def fetch_media(host: str, port: int, media_id: str, timeout: float = 30.0) -> bytes:
    """A file's bytes from the sim server; TransportError when it cannot give them."""
    try:
        with control.ControlClient(host, port, timeout=timeout) as client:
            return client.call("media", media_id=media_id)["data"]
    except control.SimError as exc:
        raise TransportError(f"media download failed: {exc}") from exc
