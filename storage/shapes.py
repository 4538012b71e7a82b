"""Does a decoded value fit a record's type? Checked from the dataclass's annotations.

A record read back from LMDB is built only when each field has the type its
dataclass declares (docs/architecture.md, "Storage"): a wrong-typed field is
reported where it is read, with its database and key, instead of raising a
TypeError later in whichever actor happens to use it.

Understood annotations: str, int, float (an int is accepted), bool, None,
`X | None` and other unions, list[X], tuple[X, ...], dict[K, V], bare
list/dict/tuple, Decimal (stored as a string), a nested dataclass, and Any.
Anything else is not checked.
"""
from __future__ import annotations

import dataclasses
import functools
import types
import typing
from decimal import Decimal, InvalidOperation
from typing import Any


def mismatch(value: Any, annotation: Any) -> str | None:
    """Why `value` does not fit `annotation`, or None when it does."""
    if annotation is Any:
        return None
    if annotation is None or annotation is type(None):
        return None if value is None else f"expected null, got {_name(value)}"
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if any(mismatch(value, option) is None for option in options):
            return None
        return f"expected {_show(annotation)}, got {_name(value)}"
    if origin is not None:
        return _container(value, origin, typing.get_args(annotation), annotation)
    if annotation is bool:
        return None if isinstance(value, bool) else f"expected bool, got {_name(value)}"
    if annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"expected int, got {_name(value)}"
    if annotation is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else f"expected float, got {_name(value)}"
    if annotation is Decimal:
        return _decimal(value)
    if dataclasses.is_dataclass(annotation):
        return mismatch_record(value, annotation)
    if isinstance(annotation, type):
        if annotation in (list, tuple) and isinstance(value, (list, tuple)):
            return None   # msgpack reads tuples back as lists
        return None if isinstance(value, annotation) else f"expected {annotation.__name__}, got {_name(value)}"
    return None   # an annotation this checker does not understand: not checked


def mismatch_record(value: Any, cls: type) -> str | None:
    """Why the map `value` cannot be a `cls`: not a map, a missing required field, a wrong type."""
    if not isinstance(value, dict):
        return f"expected a map for {cls.__name__}, got {_name(value)}"
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if f.name not in value:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                return f"{cls.__name__}: missing field {f.name!r}"
            continue
        why = mismatch(value[f.name], hints.get(f.name, Any))
        if why is not None:
            return f"{cls.__name__}.{f.name}: {why}"
    return None


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    # the record modules use `from __future__ import annotations`: resolve the strings once
    return typing.get_type_hints(cls)


def _container(value, origin, args, annotation) -> str | None:
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return f"expected {_show(annotation)}, got {_name(value)}"
        if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                return f"expected {len(args)} items, got {len(value)}"
            pairs = zip(value, args)
        else:
            item = args[0] if args else Any
            pairs = ((v, item) for v in value)
        for i, (v, a) in enumerate(pairs):
            why = mismatch(v, a)
            if why is not None:
                return f"item {i}: {why}"
        return None
    if origin is dict:
        if not isinstance(value, dict):
            return f"expected {_show(annotation)}, got {_name(value)}"
        key_t, value_t = args if len(args) == 2 else (Any, Any)
        for k, v in value.items():
            why = mismatch(k, key_t) or mismatch(v, value_t)
            if why is not None:
                return f"entry {k!r}: {why}"
        return None
    return None


def _decimal(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        return f"expected a decimal, got {_name(value)}"
    try:
        Decimal(value)
    except (InvalidOperation, ValueError):
        return f"expected a decimal, got {value!r}"
    return None


def _name(value) -> str:
    return "null" if value is None else f"{type(value).__name__} {value!r:.40}"


def _show(annotation) -> str:
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
