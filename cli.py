"""`whitecaves`: run the daemon and administer it.

Every command takes --home (env WHITECAVES_HOME) and --port (env
WHITECAVES_PORT). Exit status: 0 ok, 1 error, 2 usage, 3 no daemon running.
The command groups live in cli_commands/, one module per group.
"""
from __future__ import annotations

import click

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """White Caves: keeps a business's WhatsApp accounts ("masters") serving customers.

    \b
    First run:   whitecaves demo
    Daemon:      whitecaves daemon start --transport sim
    """


def _register() -> None:
    from cli_commands import admins, daemon, demo, health, logs, masters, outbound, sim
    for module in (daemon, masters, sim, outbound, health, admins, logs, demo):
        module.register(main)


_register()

if __name__ == "__main__":
    main()
