"""Building a simulated customer message from `whitecaves sim send`'s options.

Kept apart from click so it is testable on its own: each function raises
ValueError with a sentence the CLI prints as it is.
"""
from __future__ import annotations

import hashlib
import mimetypes
import os
import re

from transports.sim.messaging import MAX_AGO_S, MAX_MEDIA_BYTES

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULT_MIME = {"image": "image/jpeg", "video": "video/mp4", "document": "application/octet-stream",
                "sticker": "image/webp"}
VOICE_MIME = "audio/ogg; codecs=opus"
VOICE_BYTES_PER_S = 2000   # about what a 16 kbit/s opus voice note takes


def parse_duration(text: str) -> float:
    """'90s', '15m', '2h', '1d' (a bare number is seconds) → seconds."""
    found = _DURATION.match(text or "")
    if not found:
        raise ValueError(f"not a duration: {text!r} (examples: 90s, 15m, 2h, 1d)")
    seconds = float(found.group(1)) * _UNITS[found.group(2)]
    if seconds > MAX_AGO_S:
        raise ValueError(f"{text!r} is more than {MAX_AGO_S // 86400} days")
    return seconds


def parse_location(text: str) -> tuple[float, float]:
    """'25.2,55.3' → (25.2, 55.3), checked to be on Earth."""
    try:
        lat, lon = (float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"not a location: {text!r} (expected LAT,LON like 25.2,55.3)") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"not a location: {text!r} (latitude -90..90, longitude -180..180)")
    return lat, lon


def read_file(path: str, kind: str) -> dict:
    """The op fields for a file sent as `kind`: its bytes, mime type and name."""
    try:
        size = os.path.getsize(path)
        if size > MAX_MEDIA_BYTES:
            raise ValueError(f"{path}: {size} bytes; the simulated network carries files up to "
                             f"{MAX_MEDIA_BYTES} bytes")
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data:
        raise ValueError(f"{path} is empty")
    mime = mimetypes.guess_type(path)[0] or DEFAULT_MIME[kind]
    return {"kind": kind, "data": data, "mime": mime, "file_name": os.path.basename(path)}


def voice_note(seconds: int) -> dict:
    """A voice note of `seconds`: stand-in Ogg bytes (the sim never plays them)."""
    if not 1 <= seconds <= 3600:
        raise ValueError(f"a voice note lasts 1 to 3600 seconds, not {seconds}")
    stream = hashlib.shake_256(f"voice:{seconds}".encode()).digest(seconds * VOICE_BYTES_PER_S)
    return {"kind": "voice", "data": b"OggS" + stream, "mime": VOICE_MIME, "seconds": seconds,
            "voice_note": True}


def message_fields(text: str, *, image: str | None = None, video: str | None = None,
                   voice: int | None = None, document: str | None = None,
                   sticker: str | None = None, location: str | None = None,
                   contact: str | None = None) -> tuple[str, dict]:
    """(text, other customer_send fields) for at most one attachment option.

    For a location TEXT is the place's name, for a contact card the contact's name (the
    message then has no text of its own); for a file it is the caption. Only plain text
    needs TEXT.
    """
    given = {name: value for name, value in (("--image", image), ("--video", video),
                                             ("--voice", voice), ("--document", document),
                                             ("--sticker", sticker), ("--location", location),
                                             ("--contact", contact)) if value is not None}
    if len(given) > 1:
        raise ValueError(f"one attachment at a time, not {' and '.join(given)}")
    if not given:
        if not text.strip():
            raise ValueError("TEXT is required for a text message")
        return text, {}
    if voice is not None:
        if text.strip():
            raise ValueError("a voice note has no caption: leave TEXT out")
        return "", voice_note(voice)
    if location is not None:
        lat, lon = parse_location(location)
        return "", {"kind": "location", "lat": lat, "lon": lon, "name": text}
    if contact is not None:
        return "", {"kind": "contact", "contact": contact, "name": text}
    path, kind = next((p, k) for p, k in ((image, "image"), (video, "video"),
                                          (document, "document"), (sticker, "sticker")) if p)
    return text, read_file(path, kind)
