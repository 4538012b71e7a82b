"""`whitecaves`: run the daemon and administer it.

Every command takes --home (env WHITECAVES_HOME) and --port (env
WHITECAVES_PORT). Exit status: 0 ok, 1 error, 2 usage, 3 no daemon running.
The command groups live in cli_commands/, one module per group, each with a
`register(main)` that adds its commands. A module is imported only when one
of its commands runs (or for --help): every command starts faster.
"""
from __future__ import annotations

import importlib

import click

# command → the cli_commands module that registers it
COMMANDS = {
    "daemon": "daemon",
    "config": "config",
    "master": "masters", "masters": "masters", "link": "masters", "relink": "masters",
    "sim": "sim",
    "send": "outbound", "campaign": "outbound", "outbox": "outbound", "conversations": "conversations",
    "balancer": "outbound", "load": "outbound", "failover": "outbound",
    "health": "health", "alerts": "health", "dashboard": "health",
    "admin": "admins",
    "logs": "logs",
    "demo": "demo",
    "deal": "deals", "agent": "agents", "leads": "agents", "lead": "agents", "agents": "agents",
    "commission": "commission", "payout": "commission",
    "store": "store",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in self.commands and name in COMMANDS:
            importlib.import_module(f"cli_commands.{COMMANDS[name]}").register(self)
        return self.commands.get(name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """White Caves: keeps a business's WhatsApp accounts ("masters") serving customers.

    \b
    First run:   whitecaves demo
    Daemon:      whitecaves daemon start --transport sim
    """


if __name__ == "__main__":
    main()
