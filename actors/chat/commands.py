"""Every chat command, one decorated function each. Adding one touches only this file."""
from __future__ import annotations

from actors.chat.registry import COMMANDS, Request, command


@command("help", "What you can ask me")
def help_(req: Request) -> str:
    lines = ["Commands:"]
    for cmd in sorted(COMMANDS.values(), key=lambda c: c.name):
        if req.is_admin or not cmd.admin:
            lines.append(f"{cmd.usage} — {cmd.help}")
    return "\n".join(lines)


@command("ping", "Check that I answer")
def ping(req: Request) -> str:
    return "pong"
