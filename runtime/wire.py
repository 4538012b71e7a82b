"""Authenticated frames between the daemon's processes and the CLI.

thespian's TCP transport (multiprocTCPBase) unpickles whatever arrives on any
of its ports, so any local process that can connect could make the daemon
run code. Like multiprocessing's authkey, every frame here carries an
HMAC-SHA256 of its pickled bytes under a per-home secret, and a frame whose
tag does not verify (checked in constant time) is dropped *before* it is
unpickled.

How it hooks in: thespian's TCPTransport module takes its serializer from a
module-level object (`serializer.dumps` to send, `serializer.loads` for each
received frame and ack); `install(key)` replaces that object by one that signs
and verifies, and re-signs the two constant ack frames the module built at
import. thespian forks its Admin, logger and actors (the 'fork' start method),
so a key installed before the ActorSystem is created is in all of them.

The key lives in `<home>/run/wire.key` (32 random bytes, mode 0600): only
someone who can read the home can talk to the daemon. The key is never logged.

This module imports nothing of the project (the lead's layering rule for runtime/).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import pickle

KEY_FILE = os.path.join("run", "wire.key")
KEY_BYTES = 32
TAG_BYTES = hashlib.sha256().digest_size  # 32

LOGGER = "whitecaves.wire"  # looked up at each use: thespian replaces logging's root in each forked process


class WireKeyError(Exception):
    """The home's wire key is missing or unreadable: this process cannot talk to its daemon."""


class Unauthenticated(Exception):
    """A frame whose HMAC does not verify; it was not unpickled."""


def key_path(home: str) -> str:
    return os.path.join(os.path.abspath(home), KEY_FILE)


def load_key(home: str) -> bytes:
    """The home's key, for a process that joins an existing daemon (the CLI)."""
    path = key_path(home)
    try:
        with open(path, "rb") as f:
            key = f.read()
    except FileNotFoundError:
        raise WireKeyError(f"{path} does not exist: the daemon of {home} was not started "
                           f"by this version (restart it)") from None
    except PermissionError:
        raise WireKeyError(f"cannot read {path}: permission denied (the daemon belongs to another user)") from None
    if len(key) != KEY_BYTES:
        raise WireKeyError(f"{path} is not a key of {KEY_BYTES} bytes (delete it and restart the daemon)")
    return key


def load_or_create_key(home: str) -> bytes:
    """The home's key, created (0600, atomically) on first use."""
    path = key_path(home)
    if os.path.exists(path):
        return load_key(home)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    key = os.urandom(KEY_BYTES)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # atomic, and never replaces a key another process created meanwhile
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return load_key(home)


class SignedPickle:
    """`dumps`/`loads` like the pickle module, with a tag before the pickled bytes."""

    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise ValueError(f"a wire key is {KEY_BYTES} bytes")
        self._key = key

    def __repr__(self) -> str:  # thespian may print its serializer: never the key
        return "SignedPickle(<key>)"

    def tag(self, body: bytes) -> bytes:
        return hmac.digest(self._key, body, "sha256")

    def dumps(self, obj) -> bytes:
        body = pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
        return self.tag(body) + body

    def loads(self, frame: bytes):
        view = memoryview(frame)  # no copy of the body, which may be large
        tag, body = view[:TAG_BYTES], view[TAG_BYTES:]
        if len(tag) < TAG_BYTES or not hmac.compare_digest(tag.tobytes(), self.tag(body)):
            _log_dropped(len(frame))
            raise Unauthenticated(f"frame of {len(frame)} bytes failed its HMAC check; not unpickled")
        return pickle.loads(body)


def _log_dropped(size: int) -> None:
    """One line in thespian's log (<home>/logs/thespian.log), written at once, and one in
    whitecaves.log. The latter is sent to the logger process by thespian, which defers
    transmits made inside its receive loop: it lands at this process's next message."""
    from thespian.system.utilis import thesplog

    what = f"dropped an unauthenticated frame of {size} bytes (pid {os.getpid()}): not unpickled"
    thesplog("whitecaves.wire: %s", what, level=logging.WARNING)
    logging.getLogger(LOGGER).warning(what)


_installed: SignedPickle | None = None


def install(key: bytes) -> None:
    """Sign every frame this process sends and verify every frame it receives, and
    the same in every process it forks afterwards. Call before creating (or
    connecting to) an ActorSystem; installing again replaces the key."""
    global _installed
    from thespian.system.transport import TCPTransport, streamBuffer

    signed = SignedPickle(key)
    TCPTransport.serializer = signed
    # built with plain pickle when thespian was imported; compared by value after loads
    TCPTransport.ackMsg = streamBuffer.toSendBuffer(streamBuffer.ackPacket, signed.dumps)
    TCPTransport.ackDataErrMsg = streamBuffer.toSendBuffer(streamBuffer.ackDataErrPacket, signed.dumps)
    _installed = signed


def installed() -> bool:
    return _installed is not None
