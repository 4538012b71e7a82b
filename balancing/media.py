"""What may be sent as media, checked before anything is queued.

`whitecaves send --image|--document|--video` and `campaign send --image|--document`
read the file, check it here (kind, size, type from its first bytes, not its
name), store it once in the home (storage/outbound_media.py) and pass only its
reference; the gateway checks the reference again (the stored file is there,
its size and type still fit) before the outbox entry is written. Sizes follow
WhatsApp's documented limits for each kind.
"""
from __future__ import annotations

import mimetypes
import os

from storage import outbound_media

KINDS = ("image", "document", "video")
MAX_BYTES = {"image": 5 * 1024 * 1024, "video": 16 * 1024 * 1024, "document": 100 * 1024 * 1024}
MAX_CAPTION = 1024
REF_FIELDS = {"kind": str, "sha256": str, "mime": str, "file_name": str, "size": int}


class MediaError(ValueError):
    """The file cannot be sent as asked; the message says why (exit 2)."""


def sniff(kind: str, head: bytes) -> str:
    """The mime type of an image or video from its first bytes; MediaError when it is not one."""
    if kind == "image":
        if head.startswith(b"\xff\xd8\xff"):
            return "image/jpeg"
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return "image/png"
        raise MediaError("an image must be a JPEG or PNG file (its first bytes say otherwise)")
    if kind == "video":
        if head[4:8] == b"ftyp":
            return "video/3gpp" if head[8:11] == b"3gp" else "video/mp4"
        raise MediaError("a video must be an MP4 or 3GP file (its first bytes say otherwise)")
    raise MediaError(f"no type check for {kind!r}")


def check(kind: str, data: bytes, file_name: str) -> dict:
    """The outbox's reference for `data` sent as `kind` (without its sha256 yet); MediaError."""
    if kind not in KINDS:
        raise MediaError(f"media kind: one of {', '.join(KINDS)}, not {kind!r}")
    if not data:
        raise MediaError(f"{file_name}: the file is empty")
    if len(data) > MAX_BYTES[kind]:
        raise MediaError(f"{file_name}: {len(data)} bytes; WhatsApp takes a {kind} of at most "
                         f"{MAX_BYTES[kind] // (1024 * 1024)} MB")
    if kind == "document":
        mime = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
    else:
        mime = sniff(kind, data[:16])
    return {"kind": kind, "mime": mime, "file_name": os.path.basename(file_name), "size": len(data)}


def store_file(home: str, kind: str, file_path: str) -> dict:
    """Read, check and store a file from the CLI; the full reference (with sha256)."""
    try:
        size = os.path.getsize(file_path)
        if kind in MAX_BYTES and size > MAX_BYTES[kind]:   # before reading a huge file
            raise MediaError(f"{file_path}: {size} bytes; WhatsApp takes a {kind} of at most "
                             f"{MAX_BYTES[kind] // (1024 * 1024)} MB")
        with open(file_path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise MediaError(f"cannot read {file_path}: {e.strerror or e}") from None
    ref = check(kind, data, file_path)
    ref["sha256"] = outbound_media.put(home, data)
    return ref


def check_ref(home: str, ref) -> dict:
    """The gateway's check of a reference the CLI sent: well formed, the file stored, its size
    and type still those checked. MediaError otherwise; nothing is queued then."""
    if not isinstance(ref, dict) or any(not isinstance(ref.get(k), t) for k, t in REF_FIELDS.items()):
        raise MediaError(f"media: expected {', '.join(REF_FIELDS)}, got {ref!r}")
    try:
        stored = outbound_media.path(home, ref["sha256"])
    except ValueError as e:
        raise MediaError(str(e)) from None
    if not os.path.isfile(stored) or os.path.getsize(stored) != ref["size"]:
        raise MediaError(f"media {ref['sha256'][:12]}… is not stored in this daemon's home "
                         f"({os.path.join(home, outbound_media.DIR)}): send the file again")
    if ref["kind"] not in KINDS or ref["size"] > MAX_BYTES[ref["kind"]]:
        raise MediaError(f"media {ref['file_name']}: not a {'/'.join(KINDS)} WhatsApp takes")
    if ref["kind"] != "document":
        with open(stored, "rb") as f:
            mime = sniff(ref["kind"], f.read(16))
        if mime != ref["mime"]:
            raise MediaError(f"media {ref['file_name']}: stored as {mime}, not {ref['mime']}")
    return {k: ref[k] for k in REF_FIELDS}


def caption(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > MAX_CAPTION:
        raise MediaError(f"a caption is at most {MAX_CAPTION} characters, not {len(text)}")
    return text
