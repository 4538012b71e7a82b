"""What the application adds to every supervised actor's start, without supervision importing it.

The daemon registers its functions before its actor system forks: actor
processes are forked (not exec'd), so each one inherits the registrations.
Example: naming the process in its log records (actors/system.py).
"""
from __future__ import annotations

from typing import Callable

ChildInit = Callable[[str], None]

_child_init: list[ChildInit] = []


def on_child_init(fn: ChildInit) -> None:
    """Call fn(child_id) in every supervised actor as it gets Init, before its on_start.

    Registering the same function again does nothing. An exception from fn fails the start."""
    if fn not in _child_init:
        _child_init.append(fn)


def run_child_init(child_id: str) -> None:
    for fn in list(_child_init):
        fn(child_id)
