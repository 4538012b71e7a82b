"""`whitecaves` commands: logs (see cli.py for the list of groups)."""
from __future__ import annotations


def register(main) -> None:
    """Add this module's commands to the `whitecaves` group."""
