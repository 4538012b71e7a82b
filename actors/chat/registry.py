"""The chat command registry: `@command` and `respond`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

MAX_REPLY = 4000  # WhatsApp's comfortable size; longer replies are split


@dataclass(frozen=True)
class Command:
    name: str
    fn: Callable
    help: str
    usage: str
    admin: bool


@dataclass
class Request:
    """What a command function gets: who asked, the words after the command, the store txn."""
    sender: str
    args: list[str]
    txn: object
    master: str
    is_admin: bool


class UsageError(Exception):
    pass


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, usage: str = "", admin: bool = False):
    """Register a chat command: `@command("ping", "Check the bot answers")`."""
    def register(fn):
        COMMANDS[name] = Command(name, fn, help, usage or f"!{name}", admin)
        return fn
    return register


def split(text: str, size: int = MAX_REPLY) -> list[str]:
    """Split at line breaks where possible so no part exceeds `size`."""
    parts, current = [], ""
    for line in text.splitlines(keepends=True):
        while len(line) > size:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:size])
            line = line[size:]
        if len(current) + len(line) > size:
            parts.append(current)
            current = ""
        current += line
    if current or not parts:
        parts.append(current)
    return [p.rstrip("\n") for p in parts]


def respond(txn, master: str, sender: str, text: str, is_admin: bool) -> list[str] | None:
    """The replies to an inbound text, or None when it is not a command."""
    from actors.chat import commands  # noqa: F401 - registers the commands

    words = text.strip().split()
    if not words or not words[0].startswith("!"):
        return None
    name = words[0][1:].lower()
    cmd = COMMANDS.get(name)
    if cmd is None:
        return [f"Unknown command '!{name}'. Send !help."]
    if cmd.admin and not is_admin:
        return ["This command is for administrators."]
    try:
        out = cmd.fn(Request(sender=sender, args=words[1:], txn=txn, master=master, is_admin=is_admin))
    except UsageError:
        return [f"Usage: {cmd.usage}"]
    return split(out)
