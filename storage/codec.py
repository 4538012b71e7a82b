"""msgpack encoding of dataclass records, and of sortable keys."""
from __future__ import annotations

import dataclasses
import struct
from typing import Any, TypeVar

import msgpack

T = TypeVar("T")


class DecodeError(ValueError):
    pass


def encode(record: Any) -> bytes:
    value = dataclasses.asdict(record) if dataclasses.is_dataclass(record) else record
    return msgpack.packb(value, use_bin_type=True)


def decode(raw: bytes, cls: type[T] | None = None) -> T:
    """Decode a value; with `cls`, build that dataclass from it.

    Unknown fields are ignored (a newer writer's field does not break an
    older reader); a missing required field is a DecodeError.
    """
    try:
        value = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    except Exception as e:  # msgpack raises several unrelated types
        raise DecodeError(f"not msgpack: {e}") from e
    if cls is None:
        return value
    if not isinstance(value, dict):
        raise DecodeError(f"expected a map for {cls.__name__}, got {type(value).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{k: v for k, v in value.items() if k in names})
    except TypeError as e:
        raise DecodeError(f"{cls.__name__}: {e}") from e


def u64(n: int) -> bytes:
    """Big-endian sequence numbers sort the way they are scanned."""
    return struct.pack(">Q", n)


def from_u64(b: bytes) -> int:
    return struct.unpack(">Q", b[:8])[0]


def text(s: str) -> bytes:
    return s.encode("utf-8")
