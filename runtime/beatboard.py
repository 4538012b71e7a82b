"""Heartbeats without a message each: one slot per master in a shared file.

A thespian message costs its receiver 1–2 ms of CPU, and every open socket
makes each turn of thespian's loop dearer (docs/scale.md, "Where one host
ends"): at 500 masters one heartbeat message per master every 5 s kept the HA
monitor at a third of a core while nothing happened. Instead each session
writes its heartbeat (pid, wall time, device state) into its own fixed-size
slot of `<home>/run/heartbeats` with one pwrite, and the monitor reads the
whole file in one pread a few times per heartbeat period and takes the slots
that changed. A hung session stops writing, so hang detection is unchanged.

A slot is claimed once per phone under an flock (rare: a session's start);
writes and reads are lock-free, and a slot read half-written is recognised by
its checksum and skipped (the next read sees it whole). Imports nothing above
runtime/.
"""
from __future__ import annotations

import fcntl
import os
import struct
import zlib
from dataclasses import dataclass

FILE = os.path.join("run", "heartbeats")
# phone, device state, pid, wall time of the beat, sequence number, crc32 of what precedes it
_SLOT = struct.Struct("<24s16sIdQ")
_CRC = struct.Struct("<I")
SLOT_SIZE = 64
assert _SLOT.size + _CRC.size <= SLOT_SIZE


@dataclass(frozen=True)
class Beat:
    """One heartbeat as read from the board."""
    phone: str
    device: str
    pid: int
    ts: float      # time.time() of the session when it wrote the beat


def path_of(home: str) -> str:
    return os.path.join(home, FILE)


def _encode(phone: str, device: str, pid: int, ts: float, seq: int) -> bytes:
    body = _SLOT.pack(phone.encode(), device.encode()[:16], pid, ts, seq)
    return (body + _CRC.pack(zlib.crc32(body))).ljust(SLOT_SIZE, b"\0")


def _decode(raw: bytes) -> tuple[Beat, int] | None:
    """(beat, seq) of a whole slot; None for an empty or half-written one."""
    body = raw[:_SLOT.size]
    (crc,) = _CRC.unpack_from(raw, _SLOT.size)
    if crc != zlib.crc32(body) or not body.strip(b"\0"):
        return None
    phone, device, pid, ts, seq = _SLOT.unpack(body)
    return Beat(phone.rstrip(b"\0").decode(), device.rstrip(b"\0").decode(), pid, ts), seq


class BeatWriter:
    """A session's side: its slot, found or claimed at open, rewritten on every beat."""

    def __init__(self, home: str, phone: str) -> None:
        if not phone or len(phone.encode()) > 24:
            raise ValueError(f"cannot hold a heartbeat slot for phone {phone!r}")
        path = path_of(home)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        self.phone = phone
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self.seq = 0
        fcntl.flock(self.fd, fcntl.LOCK_EX)   # two sessions claiming at once get two slots
        try:
            self.offset = self._find_or_claim()
        finally:
            fcntl.flock(self.fd, fcntl.LOCK_UN)

    def _find_or_claim(self) -> int:
        size = os.fstat(self.fd).st_size
        data = os.pread(self.fd, size, 0)
        for offset in range(0, size - SLOT_SIZE + 1, SLOT_SIZE):
            found = _decode(data[offset:offset + SLOT_SIZE])
            if found is not None and found[0].phone == self.phone:
                self.seq = found[1]
                return offset
        offset = size - size % SLOT_SIZE
        os.pwrite(self.fd, _encode(self.phone, "", 0, 0.0, 0), offset)
        return offset

    def beat(self, device: str, pid: int, ts: float) -> None:
        self.seq += 1
        os.pwrite(self.fd, _encode(self.phone, device, pid, ts, self.seq), self.offset)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class BeatReader:
    """The monitor's side: `changed()` answers the beats written since its last call."""

    def __init__(self, home: str) -> None:
        self.path = path_of(home)
        self.seen: dict[int, int] = {}   # slot offset → sequence number last answered

    def changed(self) -> list[Beat]:
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        out = []
        for offset in range(0, len(data) - SLOT_SIZE + 1, SLOT_SIZE):
            found = _decode(data[offset:offset + SLOT_SIZE])
            if found is None:
                continue   # empty, or caught mid-write: its next read is whole
            beat, seq = found
            if beat.pid and self.seen.get(offset) != seq:
                self.seen[offset] = seq
                out.append(beat)
        return out
