"""`whitecaves config check`: is <home>/config.toml usable? No daemon needed."""
from __future__ import annotations

import sys

import click

from cli_commands.common import EXIT_ERROR, emit_json, where_options
from runtime import config as config_mod


@click.group("config")
def config_group():
    """Check config.toml."""


@config_group.command()
@click.option("--json", "as_json", is_flag=True, help='Print one JSON object: {"ok": ..., "path": ..., "error": ...}.')
@where_options
def check(where, as_json):
    """Load and validate <home>/config.toml as `daemon start` would: "config ok" or the error (exit 1).

    \b
    Example: whitecaves config check --home /tmp/wc
    """
    path = config_mod.path(where.home)
    try:
        config_mod.load(where.home)
    except config_mod.ConfigError as e:
        if as_json:
            emit_json({"ok": False, "path": path, "error": str(e)})
        else:
            click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_ERROR)
    if as_json:
        emit_json({"ok": True, "path": path, "error": None})
    else:
        click.echo("config ok")


def register(main: click.Group) -> None:
    main.add_command(config_group)
