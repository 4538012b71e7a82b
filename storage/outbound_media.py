"""Files sent as media, stored once in the home: <home>/media/<sha256 of the bytes>.

An outbox entry names its file by the sha256 (storage/outbox.py, `media`), so a
campaign of 5,000 sends one stored copy, not 5,000. The directory is 0700 and
each file 0600 (docs/architecture.md, "Storage": the home is private); a file
is written under a temporary name and renamed, so a reader never sees half of
one. The same name (sha256 of the bytes) is what a downloaded inbound file
would get, so both directions share one copy of the same bytes.
"""
from __future__ import annotations

import hashlib
import os
import tempfile

DIR = "media"


class MediaMissing(LookupError):
    """The stored file is gone or no longer has the bytes its name promises."""


def directory(home: str) -> str:
    path = os.path.join(home, DIR)
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)   # makedirs' mode is filtered by the umask and ignored when it exists
    return path


def path(home: str, sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return os.path.join(home, DIR, sha256)


def put(home: str, data: bytes) -> str:
    """Store `data` (once: the same bytes again is a no-op); return its sha256 hex."""
    digest = hashlib.sha256(data).hexdigest()
    target = os.path.join(directory(home), digest)
    if os.path.exists(target) and os.path.getsize(target) == len(data):
        return digest
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".put-")   # mkstemp: 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return digest


def read(home: str, sha256: str) -> bytes:
    """The stored bytes, checked against their name; MediaMissing when gone or changed."""
    try:
        with open(path(home, sha256), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise MediaMissing(f"media file {sha256} is no longer in {os.path.join(home, DIR)}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise MediaMissing(f"media file {sha256} in {os.path.join(home, DIR)} was changed on disk")
    return data


def exists(home: str, sha256: str) -> bool:
    return os.path.isfile(path(home, sha256))
