"""`whitecaves health report|status`, `whitecaves alerts`, `whitecaves dashboard`."""
from __future__ import annotations

import re
import sys
import time
from datetime import datetime, timezone

import click

from cli_commands.common import emit_json, handle_errors, table, where_options
from daemon.client import DaemonError, request

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """'90', '90s', '15m', '2h', '7d', '1h30m' → seconds; ValueError otherwise."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhdw])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r} (examples: 90s, 15m, 2h, 7d)")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def _duration(ctx, param, value):
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _when(ts) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def _pct(v) -> str:
    return "-" if v is None else f"{v:.2f}%"


@click.group()
def health():
    """Health of the masters: report (uptime, MTTR, score) and live status."""


@health.command("report")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@where_options
@handle_errors
def report(where, as_json):
    """Uptime (24 h, 7 d), MTTR, failovers and restarts per master, and the overall score.

    \b
    Example: whitecaves health report --json
    """
    data = request(where, "health.report")
    if as_json:
        emit_json(data)
        return
    click.echo(f"score {data['score']:.1f} ({data['grade']}) · balance quality {data['balance_quality']:.1f}")
    table(None, ["phone", "health", "uptime 24h", "uptime 7d", "MTTR s", "failovers", "restarts"],
          [[m["phone"], m["health"], _pct(m["uptime_pct"]), _pct(m["uptime_pct_7d"]),
            "-" if m["mttr_s"] is None else f"{m['mttr_s']:.1f}", m["failovers"], m["restarts"]]
           for m in data["masters"]])


@health.command("status")
@where_options
@handle_errors
def status(where):
    """The HA monitor's live view (JSON): health, reason, heartbeat age, pid per master.

    \b
    Example: whitecaves health status
    """
    emit_json(request(where, "health.status"))


@click.command("alerts")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: [{ts, level, kind, master, text}].")
@click.option("--since", "since_s", callback=_duration, default=None, metavar="DURATION",
              help="Only the last DURATION, e.g. 15m, 2h, 7d.")
@where_options
@handle_errors
def alerts(where, as_json, since_s):
    """Alerts sent to the admins (oldest first).

    \b
    Example: whitecaves alerts --since 1h
    """
    data = request(where, "alerts.list", since_s=since_s)
    if as_json:
        emit_json([{k: a[k] for k in ("ts", "level", "kind", "master", "text")} for a in data])
        return
    if not data:
        click.echo("no alerts" + (" in that period" if since_s is not None else ""))
        return
    table(None, ["time (UTC)", "level", "kind", "master", "text"],
          [[_when(a["ts"]), a["level"], a["kind"], a["master"] or "-",
            a["text"] + (f" (+{a['repeats']} held back)" if a.get("repeats") else "")] for a in data])


def event_detail(kind: str, data: dict) -> str:
    """What an event says, in words (the dashboard's detail column)."""
    def plain(v):
        return ", ".join(f"{k} ({n})" for k, n in v.items()) if isinstance(v, dict) else str(v)
    if kind == "alert":
        return f"[{data.get('level')}] {data.get('alert')}: {data.get('text', '')}"
    if kind == "failover":
        moved = data.get("count", 0)
        to = plain(data.get("targets") or {}) or "nobody"
        return f"{data.get('status')}: {moved} conversation{'' if moved == 1 else 's'} to {to}; {data.get('reason', '')}"
    if kind == "health":
        return f"{data.get('old')} → {data.get('new')} ({data.get('reason', '')})"
    return ", ".join(f"{k}: {plain(v)}" for k, v in data.items())


def render_dashboard(frame: dict):
    """A rich renderable of one dashboard frame (masters, outbox, latest events)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    colours = {"healthy": "green", "degraded": "yellow", "failed": "bold red", "unknown": "dim"}
    masters = Table(title="masters", show_edge=False, header_style="bold")
    for col in ("phone", "name", "device", "health", "heartbeat age", "conversations", "share"):
        masters.add_column(col)
    for m in frame["masters"]:
        age = m.get("heartbeat_age_s")
        masters.add_row(m["phone"], Text(m["name"]), m["device_state"] if m["desired"] == "running" else "stopped",
                        Text(m["health"], style=colours.get(m["health"], "")),
                        "-" if age is None else f"{age:.1f} s", str(m["conversations"]), f"{m['share_pct']:.0f}%")
    latest = Table(title="latest events", show_edge=False, header_style="bold")
    for col in ("time (UTC)", "kind", "master", "detail"):
        latest.add_column(col)
    for e in frame["events"]:
        # Text, not a markup string: "[critical]" is not a rich style
        latest.add_row(_when(e["ts"]), e["kind"], e["master"] or "-",
                       Text(event_detail(e["kind"], e["data"])[:110]))
    head = Text(f"White Caves · {_when(frame['ts'])} UTC · outbox {frame['outbox_depth']}"
                + ("" if frame.get("monitor", True) else " · HA monitor not answering"))
    return Group(head, masters, latest)


@click.command("dashboard")
@click.option("--once", is_flag=True, help="Render one frame and exit (scripts, tests).")
@click.option("--interval", type=click.FloatRange(min=0.2), default=1.0, show_default=True,
              help="Seconds between refreshes.")
@where_options
@handle_errors
def dashboard(where, once, interval):
    """A live view of masters, device states, health, load shares, outbox and events (Ctrl+C ends it).

    \b
    Example: whitecaves dashboard
    """
    from rich.console import Console
    from rich.live import Live

    console = Console(width=None if sys.stdout.isatty() else 160)
    if once:
        console.print(render_dashboard(request(where, "health.dashboard")))
        return
    try:
        with Live(render_dashboard(request(where, "health.dashboard")), console=console,
                  refresh_per_second=4, screen=False) as live:
            while True:
                time.sleep(interval)
                try:
                    live.update(render_dashboard(request(where, "health.dashboard", timeout=5.0)))
                except DaemonError as e:
                    if e.code == 3:   # the daemon is gone: nothing more to show
                        raise
                    live.console.print(f"[yellow]{e}[/yellow]")
    except KeyboardInterrupt:
        pass


def register(main) -> None:
    """Add this module's commands to the `whitecaves` group."""
    main.add_command(health)
    main.add_command(alerts)
    main.add_command(dashboard)
