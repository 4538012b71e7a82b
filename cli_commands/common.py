"""What every `whitecaves` command shares: --home/--port, errors and exit codes, output."""
from __future__ import annotations

import functools
import json
import os
import sys

import click

from runtime.config import ConfigError
from daemon.client import DEFAULT_PORT, DaemonError, Where
from runtime.home import create as create_home
from runtime.phone import BadPhone, normalize

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_RUNNING = 0, 1, 2, 3


def default_home() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "whitecaves")


def where_options(fn):
    """--home and --port on a command; the function receives `where`."""
    @click.option("--home", type=click.Path(file_okay=False), envvar="WHITECAVES_HOME",
                  default=default_home, show_default="~/.local/share/whitecaves",
                  help="The daemon's home: store, logs, sessions, config.toml.")
    @click.option("--port", type=click.IntRange(1, 65535), envvar="WHITECAVES_PORT",
                  default=DEFAULT_PORT, show_default=True, help="The daemon's admin port (loopback).")
    @functools.wraps(fn)
    def wrapper(*args, home, port, **kwargs):
        try:
            create_home(home)  # 0700, and umask 0o077 for all this command creates (runtime/home.py)
        except OSError as e:
            click.echo(f"error: cannot use {home} as the home: {e.strerror}", err=True)
            sys.exit(EXIT_ERROR)
        return fn(*args, where=Where(home=os.path.abspath(home), port=port), **kwargs)
    return wrapper


def phone_arg(ctx, param, value):
    """click callback: normalise a phone number to E.164 or fail as a usage error."""
    if value is None:
        return None
    try:
        return normalize(value)
    except BadPhone as e:
        raise click.BadParameter(str(e)) from None


def handle_errors(fn):
    """Turn the errors we expect into one clear line and the right exit status."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DaemonError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(e.code)
        except (ConfigError, BadPhone) as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(EXIT_ERROR if isinstance(e, ConfigError) else EXIT_USAGE)
    return wrapper


def emit_json(data) -> None:
    click.echo(json.dumps(data, indent=None, default=str))


def table(title: str | None, columns: list[str], rows: list[list]) -> None:
    """An aligned table for people (rich); JSON is for programs."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    t = Table(title=title, show_edge=False, header_style="bold")
    for c in columns:
        t.add_column(c)
    for r in rows:
        # Text, not markup: a customer's "[/b]" is text to show, not a style (nor an error).
        t.add_row(*[v if isinstance(v, Text) else Text("" if v is None else str(v)) for v in r])
    # Not a terminal (a pipe, a test): wide enough that nothing is cut.
    Console(width=None if sys.stdout.isatty() else 240).print(t)
