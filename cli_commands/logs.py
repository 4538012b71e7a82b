"""`whitecaves logs`: the daemon's JSON log, readable, filtered, optionally followed.

Reads `<home>/logs/whitecaves.log` (and its rotated files) directly: it works
whether or not the daemon runs.
"""
from __future__ import annotations

import json
import os
import time

import click

from cli_commands.common import handle_errors, phone_arg, where_options
from runtime import logs

LEVELS = ("debug", "info", "warning", "error", "critical")
_SKIP = ("ts", "level", "event", "actor", "master", "logger", "pid")


def matches(record: dict, master: str | None, level: str | None) -> bool:
    if master and record.get("master") != master:
        return False
    if level:
        have = str(record.get("level", "info")).lower()
        have = "warning" if have == "warn" else have
        if have in LEVELS and LEVELS.index(have) < LEVELS.index(level):
            return False
    return True


def render(record: dict) -> str:
    """One line for people: time, level, actor, event, then the other fields as k=v."""
    ts = str(record.get("ts", ""))[11:23]
    level = str(record.get("level", "")).upper()[:4]
    actor = record.get("actor") or record.get("logger") or ""
    extra = " ".join(f"{k}={json.dumps(v) if not isinstance(v, str) else v}"
                     for k, v in record.items() if k not in _SKIP)
    return f"{ts:<12} {level:<4} {actor:<22} {record.get('event', '')} {extra}".rstrip()


@click.command("logs")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines until Ctrl+C.")
@click.option("--master", callback=phone_arg, default=None, help="Only lines about this master, e.g. +971505760056.")
@click.option("--level", type=click.Choice(LEVELS), default=None, help="Only this level and above.")
@click.option("-n", "--lines", type=click.IntRange(min=0), default=50, show_default=True,
              help="How many of the latest matching lines to show first.")
@click.option("--json", "as_json", is_flag=True, help="Print the matching JSON lines as they are.")
@where_options
@handle_errors
def logs_(where, follow, master, level, lines, as_json):
    """Read the daemon's log readably.

    \b
    Examples: whitecaves logs --level warning
              whitecaves logs -f --master +971505760056
    """
    def emit(record):
        if matches(record, master, level):
            click.echo(json.dumps(record) if as_json else render(record))

    path = logs.log_file(where.home)
    if not os.path.exists(path) and not follow:
        raise click.ClickException(f"no log yet at {path}: has a daemon run with --home {where.home}?")
    offset = os.path.getsize(path) if os.path.exists(path) else 0
    latest = [r for r in logs.read_lines(where.home) if matches(r, master, level)]
    for record in latest[-lines:] if lines else []:
        emit(record)
    if follow:
        _follow(path, offset, emit)


def _follow(path: str, offset: int, emit) -> None:
    """Print lines appended to `path` after `offset` until Ctrl+C, surviving rotation."""
    handle, inode = None, None
    try:
        while True:
            try:
                st = os.stat(path)
            except FileNotFoundError:
                st = None
            if st is not None and (handle is None or st.st_ino != inode or st.st_size < handle.tell()):
                first = handle is None
                if handle:
                    handle.close()
                handle, inode = open(path, encoding="utf-8", errors="replace"), st.st_ino
                if first:
                    handle.seek(min(offset, st.st_size))  # what was shown already is not shown twice
            line = handle.readline() if handle else ""
            if not line:
                time.sleep(0.3)
                continue
            try:
                emit(json.loads(line))
            except ValueError:
                continue
    except KeyboardInterrupt:
        pass


def register(main) -> None:
    main.add_command(logs_)
