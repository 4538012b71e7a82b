"""`whitecaves daemon start|stop|status`."""
from __future__ import annotations

import signal
import time

import click

from cli_commands.common import emit_json, handle_errors, table, where_options
from daemon import lifecycle
from runtime import procs


@click.group()
def daemon():
    """Start, stop and inspect the daemon."""


@daemon.command()
@click.option("--transport", type=click.Choice(["neonize", "sim"]), default="neonize", show_default=True,
              help="neonize = real WhatsApp; sim = the simulated network (tests, demo).")
@click.option("--foreground", is_flag=True, help="Stay attached and show the logs; Ctrl+C stops.")
@click.option("--bind", default=None, show_default="[daemon] bind of config.toml, else 127.0.0.1",
              help="Address every daemon socket listens on. Beyond loopback, other hosts can reach the ports "
                   "(only frames signed with the home's key are accepted); a warning says so.")
@where_options
@handle_errors
def start(where, transport, foreground, bind):
    """Start the daemon; returns once its root supervisor answers.

    \b
    Example: whitecaves daemon start --transport sim --home /tmp/wc --port 19500
    """
    where.bind = bind or ""
    info = lifecycle.start(where, transport=transport, foreground=foreground)
    click.echo(f"daemon started: pid {info['pid']}, port {info['port']}, home {info['home']}, "
               f"transport {transport} ({info['start_s']:.2f} s)")
    if foreground:
        stopping = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.append(True))
        while not stopping and procs.is_marked(info["pid"], where.home):
            time.sleep(0.2)
        if not stopping:  # stopped from elsewhere (`daemon stop`): nothing left to do
            click.echo("daemon stopped")
            return
        result = lifecycle.stop(where)
        click.echo(f"daemon stopped ({result['stop_s']:.2f} s)")


@daemon.command()
@where_options
@handle_errors
def stop(where):
    """Stop every process of the daemon (SIGKILL for stragglers after the timeout).

    \b
    Example: whitecaves daemon stop --home /tmp/wc
    """
    result = lifecycle.stop(where)
    click.echo(f"daemon stopped ({result['stop_s']:.2f} s)")


@daemon.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@where_options
@handle_errors
def status(where, as_json):
    """Show the actor tree: every actor's pid, state, restarts and uptime.

    \b
    Example: whitecaves daemon status --json
    """
    info = lifecycle.status(where)
    if as_json:
        emit_json(info)
        return
    click.echo(f"running: pid {info['pid']}, port {info['port']}, home {info['home']}, "
               f"transport {info['transport']}")
    if info.get("store_fault"):   # e.g. a full disk: writes held until room returns
        click.echo(f"store: {info['store_fault']}")
    table(None, ["actor", "pid", "state", "restarts", "uptime s", "next start in s"],
          [[a["name"], a["pid"], a["state"], a["restarts"], a["uptime_s"], a["next_start_in_s"]]
           for a in info["actors"]])


def register(main: click.Group) -> None:
    main.add_command(daemon)
