"""One command registry: a command is one decorated function; its docstring is its help.

    @command("failover.run", runs_in="balancer", chat="handover", usage="!handover +FROM [+TO]")
    def failover_run(balancer, phone: Phone, to: Phone | None = None):
        \"\"\"Move a master's conversations to other masters.\"\"\"

The same function answers `whitecaves failover run` (the CLI sends its name and
keyword arguments) and the chat command `!handover` (the words after it fill
its parameters in order). Where it runs is part of the command:

- `session`: inside the receiving session's inbound transaction, at once
  (`!ping`, `!help`); its first argument is a `chat.dispatch.ChatCall`.
- `gateway`: in the admin gateway; its first argument is the gateway actor.
- `balancer`: in the balancer, which alone may move conversations; its first
  argument is the balancer actor. The gateway forwards it there.

`admin` (the default) limits the chat command to registered admins; the CLI
is the home's owner. `reply` turns the command's data into chat text.

The decorator only marks the function; `table()` collects the marked functions
of the modules listed in MODULES, so what is registered is written in one
place and no import order matters.
"""
from __future__ import annotations

import functools
import importlib
import inspect
from dataclasses import dataclass
from typing import Callable

# Every module whose functions are commands. A new domain adds its module here.
MODULES = ("chat.commands", "masters.commands", "balancing.commands", "health.commands",
           "deals.commands", "deals.chat_commands", "conversations.commands", "agents.chat_commands",
           "agents.commands", "deals.agent_commands")
WHERE = ("session", "gateway", "balancer")
Phone = str   # a parameter annotated Phone is normalised to E.164 from chat words


class CommandError(Exception):
    """The command cannot be carried out; `code` is the CLI's exit status (1 error, 2 usage)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


class UsageError(CommandError):
    """Wrong arguments: chat shows the usage line, the CLI exits 2."""

    def __init__(self, message: str = ""):
        super().__init__(message, code=2)


@dataclass(frozen=True)
class Command:
    name: str                       # what the CLI sends: "failover.run"
    fn: Callable
    runs_in: str                    # session | gateway | balancer
    chat: str | None = None         # the chat word, "handover"; None: not a chat command
    admin: bool = True              # chat: registered admins only
    usage: str = ""                 # chat: "!handover +FROM [+TO]"
    reply: Callable | None = None   # chat: data → text
    ack: str | Callable = ""        # chat: said at once while a forwarded command runs: "Relinking {phone}…",
                                    # or ack(args) → text
    check: Callable | None = None   # check(txn, **args): UsageError before anything runs (chat and CLI)

    @property
    def help(self) -> str:
        return (inspect.getdoc(self.fn) or "").split("\n", 1)[0]

    @property
    def params(self) -> list[inspect.Parameter]:
        """The parameters a caller fills (the first one is where it runs)."""
        return list(inspect.signature(self.fn).parameters.values())[1:]


class Poll:
    """A command's answer that is ready once `check()` returns something other than None
    (checked every `every` s by the gateway, whose loop stays free); at the timeout
    `then(None)` decides."""

    def __init__(self, check: Callable, then: Callable, timeout: float, every: float = 0.5):
        self.check, self.then, self.timeout, self.every = check, then, timeout, every
        self.request = self.reply_to = None
        self.deadline = 0.0


def command(name: str, *, runs_in: str = "gateway", chat: str | None = None, admin: bool = True,
            usage: str = "", reply: Callable | None = None, ack: str | Callable = "", check: Callable | None = None):
    """Mark a function as the command `name` (see the module's docstring)."""
    if runs_in not in WHERE:
        raise ValueError(f"runs_in must be one of {WHERE}, not {runs_in!r}")

    def mark(fn):
        fn.command = Command(name, fn, runs_in, chat, admin, usage or (f"!{chat}" if chat else ""),
                             reply, ack, check)
        return fn
    return mark


@functools.cache
def table() -> dict[str, Command]:
    """Every command by name, collected from MODULES."""
    found: dict[str, Command] = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for value in vars(module).values():
            cmd = getattr(value, "command", None)
            if isinstance(cmd, Command) and cmd.fn is value:
                if cmd.name in found:
                    raise RuntimeError(f"command {cmd.name!r} defined twice ({module_name})")
                found[cmd.name] = cmd
    return found


@functools.cache
def _chat_words() -> dict[str, Command]:
    return {c.chat: c for c in table().values() if c.chat}


def get(name: str) -> Command | None:
    return table().get(name)


def by_chat_word(word: str) -> Command | None:
    return _chat_words().get(word)
