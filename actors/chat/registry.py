"""The chat command registry: `@command`, `respond`, and the forwarding of admin work.

A chat command is one decorated function. It gets a `Request` and returns
the reply text, or raises `UsageError` (the sender gets the usage line).
Commands that read the store answer at once, inside the session's inbound
transaction. Commands that need the daemon to act or to compute (a handover,
a relink, the health report) call `req.forward("area.verb", ...)`: the session
passes that admin request to the admin gateway after the inbound message is
committed, and the gateway answers the admin over WhatsApp with the
command's `reply` formatter applied to the handler's data — the same
handlers the CLI uses.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import structlog

from runtime.phone import BadPhone, normalize

log = structlog.get_logger("chat")

MAX_REPLY = 4000  # WhatsApp's comfortable size; longer replies are split
DENIED = "This command is for administrators."


@dataclass(frozen=True)
class Command:
    name: str
    fn: Callable
    help: str
    usage: str
    admin: bool
    reply: Callable | None = None  # formats a forwarded handler's data as chat text


@dataclass
class Forward:
    """An admin request a chat command asks the gateway to run for the sender."""
    command: str            # an admin handler, e.g. "failover.run"
    args: dict
    chat_command: str       # whose `reply` formats the answer


@dataclass
class Request:
    """What a command function gets: who asked, the words after the command, the store txn."""
    sender: str
    args: list[str]
    txn: object
    master: str
    is_admin: bool
    name: str = ""
    forwards: list[Forward] = field(default_factory=list)

    def forward(self, command: str, **args) -> None:
        self.forwards.append(Forward(command, args, self.name))

    def phone(self, i: int) -> str:
        """The i-th argument as an E.164 phone number; UsageError when missing or malformed."""
        if i >= len(self.args):
            raise UsageError()
        try:
            return normalize(self.args[i])
        except BadPhone as e:
            raise UsageError(str(e)) from None


class UsageError(Exception):
    """Wrong arguments: the sender gets the command's usage line (and the detail, if any)."""


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, usage: str = "", admin: bool = False, reply: Callable | None = None):
    """Register a chat command: `@command("ping", "Check that I answer")`."""
    def register(fn):
        COMMANDS[name] = Command(name, fn, help, usage or f"!{name}", admin, reply)
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


def respond(txn, master: str, sender: str, text: str, is_admin: bool,
            forwards: list | None = None) -> list[str] | None:
    """The replies to an inbound text, or None when it is not a command.

    Admin work the command forwards is appended to `forwards` (sent by the
    session once the inbound message is committed)."""
    from actors.chat import commands  # noqa: F401 - registers the commands

    words = text.strip().split()
    if not words or not words[0].startswith("!"):
        return None
    name = words[0][1:].lower()
    cmd = COMMANDS.get(name)
    if cmd is None:
        return [f"Unknown command '!{name[:40]}'. Send !help."]
    if cmd.admin and not is_admin:
        log.warning("admin_command_denied", sender=sender, command=name, master=master)
        from storage import events
        if getattr(txn, "write", False):
            events.append(txn, "admin_denied", master, sender=sender, command=name)
        return [DENIED]
    req = Request(sender=sender, args=words[1:], txn=txn, master=master, is_admin=is_admin, name=name)
    try:
        out = cmd.fn(req)
    except UsageError as e:
        detail = f" ({e})" if str(e) else ""
        return [f"Usage: {cmd.usage}{detail}"]
    if forwards is not None:
        forwards.extend(req.forwards)
    return split(out)


def format_forwarded(chat_command: str, ok: bool, data, error: str) -> list[str]:
    """The chat text for a forwarded admin request's answer (run in the gateway)."""
    from actors.chat import commands  # noqa: F401

    cmd = COMMANDS.get(chat_command)
    if not ok:
        return split(f"!{chat_command} failed: {error}")
    if cmd is None or cmd.reply is None:
        return split(f"!{chat_command}: done")
    return split(cmd.reply(data))
