"""One command registry for chat, the CLI and the admin gateway (commands/registry.py)."""
from commands.registry import (Command, CommandError, Phone, Poll, UsageError,  # noqa: F401
                               by_chat_word, command, get, table)
