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
Frames are signed under a key derived from it and this boot's id (see _boot_key).

A frame is `tag | time, nonce | pickle`, the tag covering the rest: a frame over
16 MiB is refused on its length header before its body is read
(runtime/wire_frames.py), and a stale or repeated one is refused after its tag
verifies, before it is unpickled (runtime/wire_replay.py).

This module imports nothing of the project (the lead's layering rule for runtime/).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import pickle

from runtime import wire_replay
from runtime.wire_replay import CONTROL_HEADER, HEADER_BYTES, Replayed

KEY_FILE = os.path.join("run", "wire.key")
KEY_BYTES = 32
TAG_BYTES = hashlib.sha256().digest_size  # 32

LOGGER = "whitecaves.wire"  # looked up at each use: thespian replaces logging's root in each forked process


class WireKeyError(Exception):
    """The home's wire key is missing or unreadable: this process cannot talk to its daemon."""


class Unauthenticated(Exception):
    """A frame whose HMAC does not verify; it was not unpickled."""


class FrameTooLarge(ValueError):
    """A message too large for one frame (runtime/wire_frames.py); it was not sent."""


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
    """`dumps`/`loads` like the pickle module, with a tag, a time and a nonce before the pickled bytes."""

    def __init__(self, key: bytes, max_bytes: int | None = None):
        if len(key) != KEY_BYTES:
            raise ValueError(f"a wire key is {KEY_BYTES} bytes")
        from thespian.system.transport.streamBuffer import ackDataErrPacket, ackPacket
        from runtime.wire_frames import MAX_FRAME_BYTES
        self._key = _boot_key(key)
        self.max_bytes = max_bytes or MAX_FRAME_BYTES
        # the only bodies signed with CONTROL_HEADER: thespian's two constant acks
        self._controls = {pickle.dumps(p, pickle.HIGHEST_PROTOCOL) for p in (ackPacket, ackDataErrPacket)}

    def __repr__(self) -> str:  # thespian may print its serializer: never the key
        return "SignedPickle(<key>)"

    def tag(self, body) -> bytes:
        return hmac.digest(self._key, body, "sha256")

    def dumps(self, obj) -> bytes:
        return self._signed(wire_replay.new_header(), obj)

    def dumps_control(self, obj) -> bytes:
        """A constant frame that thespian sends again and again (an ack): no time, no nonce,
        and accepted only with exactly this body."""
        return self._signed(CONTROL_HEADER, obj)

    def _signed(self, header: bytes, obj) -> bytes:
        body = header + pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
        if len(body) + TAG_BYTES > self.max_bytes:
            raise FrameTooLarge(f"a message of {len(body) + TAG_BYTES} bytes is over the cap of "
                                f"{self.max_bytes} bytes for one frame between the daemon's processes "
                                f"(runtime/wire_frames.py); send it in parts")
        return self.tag(body) + body

    def loads(self, frame: bytes):
        view = memoryview(frame)  # no copy of the body, which may be large
        tag, body = view[:TAG_BYTES], view[TAG_BYTES:]
        if len(body) < HEADER_BYTES or not hmac.compare_digest(tag.tobytes(), self.tag(body)):
            _log_dropped(f"dropped an unauthenticated frame of {len(frame)} bytes")
            raise Unauthenticated(f"frame of {len(frame)} bytes failed its HMAC check; not unpickled")
        header, payload = body[:HEADER_BYTES].tobytes(), body[HEADER_BYTES:]
        if header == CONTROL_HEADER:
            if payload.tobytes() not in self._controls:
                _log_dropped(f"refused a frame of {len(frame)} bytes: signed as an ack, but not one")
                raise Replayed("signed as an ack, but not one")
        else:
            try:
                wire_replay.guard().check(header)
            except Replayed as e:
                _log_dropped(f"refused a replayed frame of {len(frame)} bytes: {e}")
                raise
        return pickle.loads(payload)


def _boot_key(key: bytes) -> bytes:
    """The home's key bound to this boot: the frames' times are the monotonic clock's,
    which restarts at boot (runtime/wire_replay.py), so a frame of an earlier boot
    must not verify."""
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as f:
            boot = f.read().strip()
    except OSError:  # not Linux: no boot id; replays across a reboot are then not refused
        boot = b""
    return hmac.digest(key, b"whitecaves wire frames, boot " + boot, "sha256")


def _log_dropped(what: str) -> None:
    """One line in thespian's log (<home>/logs/thespian.log), written at once, and one in
    whitecaves.log. The latter is sent to the logger process by thespian, which defers
    transmits made inside its receive loop: it lands at this process's next message."""
    from thespian.system.utilis import thesplog

    what = f"{what} (pid {os.getpid()}): not unpickled"
    thesplog("whitecaves.wire: %s", what, level=logging.WARNING)
    logging.getLogger(LOGGER).warning(what)


_installed: SignedPickle | None = None


def install(key: bytes) -> None:
    """Sign every frame this process sends and verify every frame it receives, and
    the same in every process it forks afterwards. Call before creating (or
    connecting to) an ActorSystem; installing again replaces the key."""
    global _installed
    from thespian.system.transport import TCPTransport, streamBuffer
    from runtime.wire_frames import CappedReceiveBuffer

    signed = SignedPickle(key)
    TCPTransport.serializer = signed
    TCPTransport.ReceiveBuffer = CappedReceiveBuffer  # every receive, incoming or ack, looks it up here
    # built with plain pickle when thespian was imported; compared by value after loads
    TCPTransport.ackMsg = streamBuffer.toSendBuffer(streamBuffer.ackPacket, signed.dumps_control)
    TCPTransport.ackDataErrMsg = streamBuffer.toSendBuffer(streamBuffer.ackDataErrPacket, signed.dumps_control)
    _installed = signed


def installed() -> bool:
    return _installed is not None
