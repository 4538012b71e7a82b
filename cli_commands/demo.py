"""`whitecaves demo`: the whole product on the simulated network, in a minute.

A daemon on a fresh temporary home, a few masters linked, customers
chatting, one master logged out half-way (its conversations fail over to
its siblings, each customer hears from the new master), the master relinked
(recovery), then everything stopped and a summary printed. Exit 0 only if
no customer message went unanswered.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time

import click

from cli_commands.common import handle_errors
from daemon import demo as scenario
from daemon import lifecycle
from runtime import procs
from daemon.client import DaemonError, Where, read_pid_file, request
from runtime.home import create as create_home
from runtime.ports import NoFreePort, free_port

DEMO_CONFIG = """\
# Written by `whitecaves demo`: quick timings so a minute shows everything.
[health]
heartbeat_s = 0.5
[backoff]
min_s = 0.2
max_s = 2.0
reset_after_s = 5.0
[limits]
reply_gap_s = 0.2
[outbox]
retry_min_s = 0.5
retry_max_s = 5.0
"""
ADMIN = "+971500000999"
NAMES = ("Sales", "Rentals", "Leasing", "Offplan", "Commercial", "Holiday")


def _wait(what: str, check, timeout: float, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise DaemonError(f"demo: {what} did not happen within {timeout:g} s")


class Observer:
    """Reads the daemon's store (opened after the daemon's processes were forked)."""

    def __init__(self, home: str):
        from storage import Store
        self.store = Store(home)

    def masters(self) -> list:
        from storage import masters
        with self.store.read() as txn:
            return masters.all(txn)

    def failover_done_at(self, master: str, since: float) -> float | None:
        """When the failover of `master` after `since` (wall clock) committed, or None yet."""
        from storage import events
        with self.store.read() as txn:
            done = [e for e in events.recent(txn, limit=5, kinds=("failover",), master=master, since_ts=since)
                    if e.data.get("status") == "completed"]
        return done[-1].ts if done else None


def _frame(where: Where, customers: scenario.Customers, phase: str, elapsed: float):
    """One frame of the live view: the dashboard (`whitecaves dashboard`) under the demo's counts."""
    from rich.console import Group
    from rich.text import Text

    from cli_commands.health import render_dashboard

    s = customers.summary()
    head = Text.assemble((f"demo — {phase} — {elapsed:.0f} s on the simulated network\n", "bold"),
                         f"customer messages sent {s['sent']}, answered {s['answered']}, "
                         f"waiting for an answer {s['lost']}, duplicated {s['duplicated']}")
    try:
        board = render_dashboard(request(where, "health.dashboard", timeout=2.0))
    except DaemonError as e:   # the daemon is busy or restarting a child: say so, keep going
        board = Text(f"(dashboard not available this second: {e})")
    return Group(head, board)


@click.command("demo")
@click.option("--masters", "n_masters", type=click.IntRange(2, 6), default=3, show_default=True,
              help="How many masters (WhatsApp accounts) to run.")
@click.option("--customers", "n_customers", type=click.IntRange(1, 500), default=30, show_default=True,
              help="How many simulated customers chat with them.")
@click.option("--duration", type=click.FloatRange(5, 3600), default=60, show_default=True,
              help="Seconds of customer traffic.")
@click.option("--fault-after", type=click.FloatRange(1), default=15, show_default=True,
              help="Seconds in, the first master is logged out (its phone unlinked it).")
@click.option("--json", "as_json", is_flag=True, help="No live view; the summary as one JSON object on the last line.")
@click.option("--home", type=click.Path(file_okay=False), default=None,
              help="Run in this home instead of a fresh temporary one (kept afterwards).")
@click.option("--port", type=click.IntRange(1, 65534), default=None,
              help="Admin port of the demo's daemon (default: a free one; the sim uses port + 1).")
@handle_errors
def demo(n_masters, n_customers, duration, fault_after, as_json, home, port):
    """Run the whole product on the simulated network and print what happened.

    \b
    Example: whitecaves demo --masters 3 --customers 30 --duration 60 --fault-after 15
    """
    if fault_after >= duration:
        raise click.BadParameter("must be less than --duration", param_hint="--fault-after")
    temporary = home is None
    home = os.path.abspath(home or tempfile.mkdtemp(prefix="whitecaves-demo-"))
    create_home(home)  # private, before config.toml is written in it
    config_path = os.path.join(home, "config.toml")
    if not os.path.exists(config_path):
        with open(config_path, "w") as f:
            f.write(DEMO_CONFIG)
    try:
        where = Where(home=home, port=port or free_port())
    except NoFreePort as e:
        raise DaemonError(str(e)) from None
    say = (lambda *a: None) if as_json else (lambda msg: click.echo(msg, err=True))
    say(f"demo: daemon on the simulated network, home {home}, port {where.port}")
    lifecycle.start(where, transport="sim")
    try:
        summary = _run(where, n_masters, n_customers, duration, fault_after, as_json, say)
    finally:
        lifecycle.stop(where)
        procs.kill_all(procs.processes_of(home))
        if temporary:
            shutil.rmtree(home, ignore_errors=True)
    if as_json:
        click.echo(json.dumps(summary))
    else:
        _print_summary(summary)
    sys.exit(0 if summary["lost"] == 0 else 1)


def _run(where: Where, n_masters: int, n_customers: int, duration: float, fault_after: float,
         as_json: bool, say) -> dict:
    from transports.sim import control
    from transports.sim.control import ControlClient

    sim_port = (read_pid_file(where) or {}).get("sim_port") or where.port + 1
    masters = scenario.master_phones(n_masters)
    for i, phone in enumerate(masters):
        request(where, "master.add", phone=phone, name=NAMES[i], role="primary" if i == 0 else "backup",
                priority=i)
        request(where, "master.link", phone=phone)
    request(where, "admin.add", phone=ADMIN)
    obs = Observer(where.home)
    _wait("linking the masters",
          lambda: all(m.device_state == "connected" for m in obs.masters()), 30)
    say(f"demo: {n_masters} masters linked; {n_customers} customers start chatting")

    customers = scenario.Customers(lambda: ControlClient("127.0.0.1", sim_port),
                                   scenario.customer_phones(n_customers), masters)
    victim, failover_ms, relinked = masters[0], None, False
    relink_at = fault_after + max(5.0, (duration - fault_after) / 2)
    t0 = time.monotonic()
    customers.start()
    extras = ControlClient("127.0.0.1", sim_port)   # issue 14: media and a night's backlog
    scenario.send_media(extras, masters[-1])
    live = None
    if not as_json:
        from rich.console import Console
        from rich.live import Live
        live = Live(console=Console(stderr=True), refresh_per_second=4, transient=False)
        live.start()
    fault_t = None
    try:
        while True:
            elapsed = time.monotonic() - t0
            if fault_t is None and elapsed >= fault_after:
                fault_t = time.time()
                control.fault("127.0.0.1", sim_port, victim, "logout")
                scenario.send_night_backlog(extras, victim)   # held until it is relinked
            if fault_t is not None and failover_ms is None:
                done = obs.failover_done_at(victim, fault_t)
                if done is not None:   # logout → conversations re-owned (detection + failover)
                    failover_ms = round((done - fault_t) * 1000)
            if not relinked and elapsed >= relink_at:
                request(where, "master.link", phone=victim, relink=True)
                relinked = True
            if elapsed >= duration and customers.sending.is_set():
                customers.stop_sending()
            phase = ("draining" if not customers.sending.is_set() else f"{victim} relinked" if relinked
                     else f"{victim} logged out" if fault_t else "normal operation")
            if live:
                live.update(_frame(where, customers, phase, elapsed))
            if not customers.sending.is_set():
                s = customers.summary()
                if s["lost"] == 0 or elapsed >= duration + 30:
                    break
            time.sleep(0.25)
        time.sleep(1.0)  # a last look for late duplicates
    finally:
        customers.stop()
        extras.close()
        if live:
            live.stop()
    summary = customers.summary()
    summary["failover_ms"] = failover_ms
    summary["masters"] = n_masters
    summary["customers"] = n_customers
    summary["other_messages"] = customers.tally.notes
    summary.update(_inbound_extras(where))
    return summary


def _inbound_extras(where: Where) -> dict:
    """What the photo, the voice note and the night's backlog became (issue 14)."""
    media = [r for r in request(where, "conversations.show", customer=scenario.MEDIA_CUSTOMER)
             if r["direction"] == "in"]
    waiting = request(where, "conversations.waiting")
    return {"media_stored": sum(1 for r in media if r["media"]),
            "backlog_waiting": sum(1 for r in waiting if r["customer"] in scenario.NIGHT_CUSTOMERS)}


def _print_summary(s: dict) -> None:
    from cli_commands.common import table
    table("demo summary", ["sent", "answered", "lost", "duplicated", "failover ms", "other messages (hand-over notes)"],
          [[s["sent"], s["answered"], s["lost"], s["duplicated"],
            "-" if s["failover_ms"] is None else s["failover_ms"], s["other_messages"]]])
    click.echo("nothing lost" if s["lost"] == 0 else f"{s['lost']} customer messages went unanswered")
    click.echo(f"{s['media_stored']} media files stored; {s['backlog_waiting']} conversations from the "
               "night's backlog wait for a person (whitecaves conversations --waiting)")


def register(main) -> None:
    main.add_command(demo)
