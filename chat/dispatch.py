"""Chat dispatch: an inbound `!word args` text → the command's replies, inside the session's transaction.

The command comes from the one registry (commands/registry.py). A command that
runs in the session answers at once. One that runs in the gateway or the
balancer is checked here first (its `check`, and its arguments), then
forwarded: the session passes it to the admin gateway once the inbound message
is committed, and the gateway answers the admin over WhatsApp with the
command's `reply` formatter applied to its data — the same function the CLI
runs. Wrong arguments get the usage line; a stranger gets DENIED for an admin
command, and the attempt is stored as an event.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import structlog

from commands import registry
from commands.registry import Command, UsageError
from runtime.phone import BadPhone, normalize
from storage import events

log = structlog.get_logger("chat")

MAX_REPLY = 4000  # WhatsApp's comfortable size; longer replies are split
DENIED = "This command is for administrators."


@dataclass
class Forward:
    """A command the session asks the gateway to run for the sender, after its commit."""
    command: str            # the registry name, e.g. "failover.run"
    args: dict
    chat_command: str       # the chat word, whose `reply` formats the answer


@dataclass
class ChatCall:
    """What a command that runs in the session gets: who asked, where, the store transaction."""
    sender: str
    txn: object
    master: str
    is_admin: bool
    args: list[str] = field(default_factory=list)
    text: str = ""          # the message after the command word, as typed (quotes and all)
    config: object = None   # the daemon's runtime.config.Config (None: the defaults apply)


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


def chat_arguments(cmd: Command, words: list[str], text: str = "") -> dict:
    """The words after the command, in order, as the function's keyword arguments.

    A parameter annotated `Phone` (or `Phone | None`) is normalised to E.164;
    a parameter named `words` takes all the words as they are; a last
    parameter named `text` takes the rest of the message `text` (what follows
    the command word) after the words the parameters before it took, as typed:
    `!reject C-1 not our listing`, or key=value words a command parses itself."""
    params = cmd.params
    if [p.name for p in params] == ["words"]:
        return {"words": list(words)}
    if params and params[-1].name == "text":
        head = params[:-1]
        parts = text.strip().split(None, len(head))
        args = _in_order(head, parts[:len(head)])
        if len(parts) > len(head):
            args["text"] = parts[len(head)]
        elif params[-1].default is inspect.Parameter.empty:
            raise UsageError()
        return args
    return _in_order(params, words)


def _in_order(params: list[inspect.Parameter], words: list[str]) -> dict:
    if len(words) > len(params):
        raise UsageError()
    args = {}
    for param, word in zip(params, words):
        if "Phone" in str(param.annotation):
            try:
                word = normalize(word)
            except BadPhone as e:
                raise UsageError(str(e)) from None
        args[param.name] = word
    missing = [p.name for p in params[len(words):] if p.default is inspect.Parameter.empty]
    if missing:
        raise UsageError()
    return args


def respond(txn, master: str, sender: str, text: str, is_admin: bool,
            forwards: list | None = None, config=None) -> list[str] | None:
    """The replies to an inbound text, or None when it is not a command.

    Commands to run elsewhere are appended to `forwards` (sent by the session
    once the inbound message is committed). `config` (runtime.config.Config)
    is handed to commands that run in the session."""
    words = text.strip().split()
    if not words or not words[0].startswith("!"):
        return None
    rest = text.strip()[len(words[0]):].strip()
    word = words[0][1:].lower()
    cmd = registry.by_chat_word(word)
    if cmd is None:
        return [f"Unknown command '!{word[:40]}'. Send !help."]
    if cmd.admin and not is_admin:
        log.warning("admin_command_denied", sender=sender, command=word, master=master)
        if getattr(txn, "write", False):
            events.append(txn, "admin_denied", master, sender=sender, command=word)
        return [DENIED]
    try:
        if cmd.runs_in == "session":
            return split(cmd.fn(ChatCall(sender, txn, master, is_admin, words[1:], rest, config),
                                **chat_arguments(cmd, words[1:], rest)))
        args = chat_arguments(cmd, words[1:], rest)
        if cmd.check is not None:
            cmd.check(txn, **args)
    except UsageError as e:
        detail = f" ({e})" if str(e) else ""
        return [f"Usage: {cmd.usage}{detail}"]
    if forwards is not None:
        forwards.append(Forward(cmd.name, args, cmd.chat))
    ack = cmd.ack(args) if callable(cmd.ack) else cmd.ack.format(**args)
    return split(ack or f"Running !{cmd.chat}…")


def format_forwarded(chat_command: str, ok: bool, data, error: str) -> list[str]:
    """The chat text for a forwarded command's answer (run in the gateway)."""
    cmd = registry.by_chat_word(chat_command)
    if not ok:
        return split(f"!{chat_command} failed: {error}")
    if cmd is None or cmd.reply is None:
        return split(f"!{chat_command}: done")
    return split(cmd.reply(data))
