"""`whitecaves admin add|remove|list`: who may use admin chat commands.

No passwords: the WhatsApp sender number is the identity, as WhatsApp
authenticates it.
"""
from __future__ import annotations

import time

import click

from cli_commands.common import emit_json, handle_errors, phone_arg, table, where_options
from daemon.client import request


@click.group()
def admin():
    """Register the phone numbers allowed to use admin chat commands (!status, !handover, ...)."""


@admin.command("add")
@click.argument("phone", callback=phone_arg)
@where_options
@handle_errors
def add(where, phone):
    """Make PHONE an admin: it may send admin commands to any master, and gets alerts.

    \b
    Example: whitecaves admin add +971501234567
    """
    request(where, "admin.add", phone=phone)
    click.echo(f"{phone} is an admin")


@admin.command("remove")
@click.argument("phone", callback=phone_arg)
@where_options
@handle_errors
def remove(where, phone):
    """PHONE is no longer an admin.

    \b
    Example: whitecaves admin remove +971501234567
    """
    request(where, "admin.remove", phone=phone)
    click.echo(f"{phone} is no longer an admin")


@admin.command("list")
@click.option("--json", "as_json", is_flag=True, help='Print JSON: [{"phone", "added_ts"}].')
@where_options
@handle_errors
def list_(where, as_json):
    """The registered admins.

    \b
    Example: whitecaves admin list --json
    """
    rows = request(where, "admin.list")
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no admins yet; add one with: whitecaves admin add +PHONE")
        return
    table(None, ["phone", "added (UTC)"],
          [[r["phone"], time.strftime("%Y-%m-%d %H:%M", time.gmtime(r["added_ts"]))] for r in rows])


def register(main) -> None:
    main.add_command(admin)
