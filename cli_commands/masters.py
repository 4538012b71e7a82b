"""`whitecaves master ...`, `whitecaves masters`, `whitecaves link|relink master`."""
from __future__ import annotations

import os
import sys
import time

import click

from cli_commands.common import emit_json, handle_errors, phone_arg, table, where_options
from masters import fields
from runtime import config
from daemon.client import DaemonError, read_pid_file, request


@click.group()
def master():
    """Register, remove, start and stop masters (the business's WhatsApp accounts)."""


def field_arg(check):
    """click callback: a master's field checked by masters/fields.py, or a usage error (exit 2)."""
    def callback(ctx, param, value):
        try:
            return check(value)
        except fields.BadField as e:
            raise click.BadParameter(str(e)) from None
    return callback


@master.command("add")
@click.argument("phone", callback=phone_arg)
@click.option("--name", required=True, help="A name people recognise, e.g. 'Sales Dubai'.")
@click.option("--role", type=click.Choice(["primary", "backup"]), default="primary", show_default=True,
              help="Primaries take new conversations first; backups take over when they fail.")
@click.option("--priority", type=int, default=0, show_default=True, callback=field_arg(fields.check_priority),
              help=f"Lower goes first ({fields.MIN_PRIORITY} to {fields.MAX_PRIORITY}).")
@click.option("--weight", type=float, default=1.0, show_default=True, callback=field_arg(fields.check_weight),
              help=f"Share of new traffic relative to the others ({fields.MIN_WEIGHT:g} to {fields.MAX_WEIGHT:g}).")
@click.option("--region", default=None, help="ISO country code of the customers it serves, e.g. AE.")
@where_options
@handle_errors
def add(where, phone, name, role, priority, weight, region):
    """Register a master and start its session.

    \b
    Example: whitecaves master add +971505760056 --name "Sales Dubai" --region AE
    """
    request(where, "master.add", phone=phone, name=name, role=role, priority=priority,
            weight=weight, region=region)
    click.echo(f"master {phone} added; link it with: whitecaves link master {phone}")


@master.command("remove")
@click.argument("phone", callback=phone_arg)
@where_options
@handle_errors
def remove(where, phone):
    """Stop a master's session and forget it (its conversations stay).

    \b
    Example: whitecaves master remove +971505760056
    """
    request(where, "master.remove", phone=phone)
    click.echo(f"master {phone} removed")


@master.command("start")
@click.argument("phone", callback=phone_arg)
@where_options
@handle_errors
def start(where, phone):
    """Run a stopped master again; it stays running across daemon restarts.

    \b
    Example: whitecaves master start +971505760056
    """
    request(where, "master.start", phone=phone)
    click.echo(f"master {phone} running")


@master.command("stop")
@click.argument("phone", callback=phone_arg)
@where_options
@handle_errors
def stop(where, phone):
    """Stop a master's session; it stays stopped across daemon restarts.

    \b
    Example: whitecaves master stop +971505760056
    """
    request(where, "master.stop", phone=phone)
    click.echo(f"master {phone} stopped")


@click.command("masters")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@where_options
@handle_errors
def masters_cmd(where, as_json):
    """List the masters with their device state, health and load.

    \b
    Example: whitecaves masters --json
    """
    rows = request(where, "masters.list")
    if as_json:
        emit_json([{k: r[k] for k in ("phone", "name", "role", "priority", "weight", "region",
                                      "device_state", "health", "conversations", "pid")} for r in rows])
        return
    table(None, ["phone", "name", "role", "prio", "weight", "region", "device", "health", "convs", "pid"],
          [[r["phone"], r["name"], r["role"], r["priority"], r["weight"], r["region"],
            r["device_state"], r["health"], r["conversations"], r["pid"]] for r in rows])


def choose_master(where, phone: str | None) -> str:
    """The master to link: the one given, the only one, or one the user picks on a terminal."""
    rows = request(where, "masters.list")
    phones = [r["phone"] for r in rows]
    if phone:
        if phone not in phones:
            listing = ", ".join(phones) or "none (whitecaves master add)"
            raise DaemonError(f"unknown master {phone}; registered masters: {listing}")
        return phone
    if not phones:
        raise DaemonError("no masters registered yet; add one: whitecaves master add +PHONE --name NAME")
    if len(phones) == 1:
        return phones[0]
    if not sys.stdin.isatty():
        raise DaemonError("several masters are registered; name one: " + ", ".join(phones), code=2)
    for i, p in enumerate(phones, 1):
        click.echo(f"  {i}. {p}")
    n = click.prompt("Link which master", type=click.IntRange(1, len(phones)))
    return phones[n - 1]


def _link(where, phone, code: bool, relink: bool) -> None:
    phone = choose_master(where, phone)
    cfg = config.load(where.home)
    since = time.time()
    _start_link(where, phone, code, relink)
    simulated = (read_pid_file(where) or {}).get("transport") == "sim"
    # The daemon answered once the session was pairing: any state read from here on is this link's.
    shown, started = None, time.monotonic()
    deadline = started + cfg.session.pairing_timeout_s + 5
    while time.monotonic() < deadline:
        status = request(where, "master.pairing", phone=phone)
        outcome = status["pairing"] if status["pairing"] and status["pairing"]["ts"] >= since else None
        if outcome and outcome["kind"] == "failed":
            raise DaemonError(f"linking {phone} failed: {outcome['value']}")
        state = status["device_state"]
        if state == "connected":
            click.echo(f"master {phone} is linked and connected")
            return
        if state in ("unlinked", "logged_out", "banned", "outdated", "replaced"):
            raise DaemonError(f"linking {phone} failed: device state {state} (see whitecaves logs --master {phone})")
        if outcome and not simulated and (outcome["kind"], outcome["value"]) != shown:   # the sim's "phone" scans at once
            shown = (outcome["kind"], outcome["value"])
            _show_pairing(*shown, phone, where.home)
        time.sleep(0.2)
    raise DaemonError(f"linking {phone} timed out after {cfg.session.pairing_timeout_s:g} s: "
                      f"no scan / code entered")


def _start_link(where, phone: str, code: bool, relink: bool) -> None:
    """Ask the session to pair; a session still starting (just added or restarted) gets 5 s."""
    deadline = time.monotonic() + 5
    while True:
        try:
            request(where, "master.link", phone=phone, code=code, relink=relink)
            return
        except DaemonError as e:
            if "no running session" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _show_pairing(kind: str, data: str, phone: str, home: str) -> None:
    from runtime.qr import show_code, show_qr
    if kind == "code":
        show_code(data, phone)
    else:
        show_qr(data, os.path.join(home, "run", f"qr-{phone}.png"), phone)


@click.group()
def link():
    """Link a master's WhatsApp account to this daemon."""


@link.command("master")
@click.argument("phone", required=False, callback=phone_arg)
@click.option("--code", is_flag=True, help="Link with a code typed on the phone instead of a QR scan.")
@where_options
@handle_errors
def link_master(where, phone, code):
    """Pair PHONE (or the only/chosen master); exits 0 once connected.

    \b
    Example: whitecaves link master +971505760056 --code
    """
    _link(where, phone, code, relink=False)


@click.group()
def relink():
    """Pair a master again from scratch (after a logout)."""


@relink.command("master")
@click.argument("phone", required=False, callback=phone_arg)
@click.option("--code", is_flag=True, help="Link with a code typed on the phone instead of a QR scan.")
@where_options
@handle_errors
def relink_master(where, phone, code):
    """Unlink PHONE and pair it again; exits 0 once connected.

    \b
    Example: whitecaves relink master +971505760056
    """
    _link(where, phone, code, relink=True)


def register(main: click.Group) -> None:
    for cmd in (master, masters_cmd, link, relink):
        main.add_command(cmd)
