"""msgpack encoding of dataclass records, and of sortable keys."""
from __future__ import annotations

import dataclasses
import struct
from typing import Any, TypeVar

import msgpack

from storage import shapes

T = TypeVar("T")


class DecodeError(ValueError):
    pass


def encode(record: Any) -> bytes:
    value = dataclasses.asdict(record) if dataclasses.is_dataclass(record) else record
    return msgpack.packb(value, use_bin_type=True)


def decode(raw: bytes, cls: Any = None) -> Any:
    """Decode a value; with `cls`, check it against that type (storage/shapes.py).

    A dataclass `cls` is built from the map: unknown fields are ignored (a
    newer writer's field does not break an older reader); a missing required
    field or a field of the wrong type is a DecodeError. Any other `cls` (int,
    dict, dict[str, int], ...) is the type the plain value must have.
    """
    try:
        value = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    except Exception as e:  # msgpack raises several unrelated types
        raise DecodeError(f"not msgpack: {e}") from e
    if cls is None:
        return value
    if not dataclasses.is_dataclass(cls):
        why = shapes.mismatch(value, cls)
        if why is not None:
            raise DecodeError(why)
        return value
    why = shapes.mismatch_record(value, cls)
    if why is not None:
        raise DecodeError(why)
    names = {f.name for f in dataclasses.fields(cls)}
    try:
        return cls(**{k: v for k, v in value.items() if k in names})
    except (TypeError, ValueError) as e:
        raise DecodeError(f"{cls.__name__}: {e}") from e


def u64(n: int) -> bytes:
    """Big-endian sequence numbers sort the way they are scanned."""
    return struct.pack(">Q", n)


def from_u64(b: bytes) -> int:
    return struct.unpack(">Q", b[:8])[0]


def text(s: str) -> bytes:
    return s.encode("utf-8")
