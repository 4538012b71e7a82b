"""A cap on the size of a frame, checked on its length header before its body is read.

thespian's TCP transport (thespian/system/transport/streamBuffer.py) reads a frame as
`b'<length>>' + bytes` and appends every chunk to one buffer until `length` bytes have
arrived; only then is the frame handed to the serializer, which checks its HMAC
(runtime/wire.py). So any process that can connect could announce, say, 10 GB and make
the receiver hold all it sends. It also keeps appending header bytes for as long as no
'>' comes. `CappedReceiveBuffer` refuses, as soon as the header shows it:

- a header that is not ASCII digits, or longer than the cap's digits, and
- an announced length over MAX_FRAME_BYTES,

by raising FrameRefused from `addMore`; thespian's receive loop then logs "corrupted
incoming data" and closes the socket: nothing more is read, nothing is unpickled.

Why 16 MiB (docs/daemon.md): the largest frames are CLI requests and their answers.
A `campaign send` of 30,000 contacts is 0.48 MB pickled, 100,000 contacts 1.6 MB;
files (`send --image`) never travel in a frame, only a reference to the copy stored
in the home (balancing/media.py). 16 MiB leaves a margin of 10x over a 100,000-contact
campaign. The sender checks the same cap (runtime/wire.py) and says so in plain words.

This module imports nothing of the project.
"""
from __future__ import annotations

import logging
import os

from thespian.system.transport.streamBuffer import ReceiveBuffer

MAX_FRAME_BYTES = 16 * 1024 * 1024
MAX_HEADER_DIGITS = len(str(MAX_FRAME_BYTES))

LOGGER = "whitecaves.wire"


class FrameRefused(ValueError):
    """A frame refused on its header: too large, or not a length at all."""


class CappedReceiveBuffer(ReceiveBuffer):
    """thespian's ReceiveBuffer that refuses an oversized frame on its header, and that
    deserializes a completed frame once (thespian may ask for it twice while it waits for
    an ack on a reused socket; a second deserialization would look like a replay)."""

    max_bytes = MAX_FRAME_BYTES

    def __init__(self, serializer):
        super().__init__(serializer)
        self._result = None

    def addMore(self, buf):
        if self._size is None:
            self._check_header(self._buf + bytes(buf))
        super().addMore(buf)

    def _check_header(self, seen: bytes) -> None:
        mark = seen.find(b">")
        digits = seen if mark < 0 else seen[:mark]
        if not digits.isdigit() and digits:
            refuse(f"a frame header that is not a length ({bytes(digits[:20])!r})")
        if len(digits) > MAX_HEADER_DIGITS:
            refuse(f"a frame header of more than {MAX_HEADER_DIGITS} digits")
        if mark == 0:
            refuse("a frame header with no length")
        if mark > 0 and int(digits) > self.max_bytes:
            refuse(f"a frame of {int(digits)} bytes announced, over the cap of {self.max_bytes}")

    def completed(self):
        if self._result is None:
            self._result = super().completed()
        return self._result


def refuse(what: str) -> None:
    """Log once (thespian.log at once, whitecaves.log at this process's next message) and raise."""
    from thespian.system.utilis import thesplog

    line = f"refused {what} (pid {os.getpid()}): connection closed, nothing read or unpickled"
    thesplog("whitecaves.wire: %s", line, level=logging.WARNING)
    logging.getLogger(LOGGER).warning(line)
    raise FrameRefused(line)
