"""`whitecaves` commands: outbound messages, the outbox, conversations, balancing, failover.

    send, campaign send|status, outbox [retry] (conversations: cli_commands/conversations.py),
    balancer strategy, load metrics, failover run|status|resume|restore
"""
from __future__ import annotations

import csv
import hashlib
import os
import time
import uuid

import click

from cli_commands.common import emit_json, handle_errors, phone_arg, table, where_options
from cli_commands.media_options import media_options, stored_media
from daemon.client import DaemonError, request
from runtime.phone import BadPhone, normalize

from runtime.vocabulary import STRATEGIES, STRATEGY_HELP  # noqa: E402 - the one table of strategies


def _ts(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else ""


@click.command("send")
@click.argument("customer", callback=phone_arg)
@click.argument("text", required=False, default="")
@media_options(("image", "document", "video"))
@click.option("--via", callback=phone_arg, default=None, help="Send from this master only.")
@click.option("--key", default=None, help="Idempotency key: a retry with the same key is never sent twice "
                                           "(default: a new one, printed).")
@click.option("--wait", "wait_s", type=click.FloatRange(0, 8), default=2.0, show_default=True,
              help="Seconds to wait for the send before answering 'queued'.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@where_options
@handle_errors
def send_cmd(where, customer, text, via, key, wait_s, as_json, media_file):
    """Send TEXT (or a file, TEXT its caption) to CUSTOMER; returns once it is safely in the outbox.

    A file is checked (size, type) and stored once in the home before anything is queued.

    Prints the request's key and whether the message was sent or is queued
    (exit 0 also when no master is healthy: it goes out when one is). If the
    answer is lost, run it again with --key KEY: never sent twice.

    \b
    Example: whitecaves send +447700900001 "Your order is ready" --via +971505760056
    Example: whitecaves send +447700900001 "Floor plan, unit 1204" --document plan.pdf
    """
    key = key or f"send:{uuid.uuid4().hex}"
    media = stored_media(where.home, media_file)
    if media is None and not text.strip():
        raise DaemonError("TEXT is required (or a file: --image, --document or --video)", code=2)
    try:
        data = request(where, "send", to=customer, text_=text, via=via, wait_s=wait_s, key=key,
                       **({"media": media} if media else {}))
    except DaemonError as e:
        if e.code in (2, 3):   # refused, or no daemon: nothing was queued
            raise
        raise DaemonError(f"{e}; the message may be queued as {key} (state unknown): "
                          f"check with `whitecaves outbox`, or run again with --key {key} "
                          f"(never sent twice)", code=e.code) from None
    if as_json:
        emit_json(data)
    else:
        click.echo(send_summary(data))


def send_summary(data: dict) -> str:
    """One line: the key, the state, what to do next."""
    first = "already requested: " if data.get("again") else ""
    where = f" from {data['master']}" if data.get("master") else ""
    if data["state"] == "sent":
        return f"{first}sent as {data['key']}{where} (outbox id {data['id']})"
    if data["state"] == "dead":
        return (f"{first}gave up as {data['key']} (outbox id {data['id']}): {data.get('last_error', '')}; "
                f"`whitecaves outbox retry {data['id']}` tries again")
    note = f" ({data['note']})" if data.get("note") else ""
    return (f"{first}{data['state']} as {data['key']} (outbox id {data['id']}){note}; "
            f"check with `whitecaves outbox`")


@click.group()
def campaign():
    """Send one text to a list of contacts, within the anti-ban limits."""


def read_contacts(path: str) -> tuple[list[str], list[str]]:
    """(phones, problems): the phone is the first column (or the 'phone' column of a header).

    A malformed line is reported with its line number and skipped; duplicates too.
    """
    phones, problems, seen = [], [], set()
    with open(path, newline="", encoding="utf-8-sig") as f:
        column = 0
        for lineno, row in enumerate(csv.reader(f), 1):
            cells = [c.strip() for c in row]
            if not any(cells):
                continue
            if lineno == 1 and not any(ch.isdigit() for ch in cells[0]):
                lowered = [c.lower() for c in cells]
                column = lowered.index("phone") if "phone" in lowered else 0
                continue   # a header
            if column >= len(cells) or not cells[column]:
                problems.append(f"line {lineno}: no phone number")
                continue
            try:
                phone = normalize(cells[column])
            except BadPhone as e:
                problems.append(f"line {lineno}: {e}")
                continue
            if phone in seen:
                problems.append(f"line {lineno}: {phone} is listed twice; sent once")
                continue
            seen.add(phone)
            phones.append(phone)
    return phones, problems


@campaign.command("send")
@click.option("--file", "path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="CSV of contacts: the phone in the first column (or a 'phone' column).")
@click.option("--text", required=True, help="The message (a file's caption with --image/--document).")
@media_options(("image", "document"))
@click.option("--name", default=None,
              help="The campaign's name; default: from the file name and the text. Same name = resume.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@where_options
@handle_errors
def campaign_send(where, path, text, name, as_json, media_file):
    """Queue TEXT to every contact of the CSV not yet messaged by this campaign.

    Run it again after any crash: contacts the campaign already messaged (or
    queued) are skipped, never messaged twice.

    \b
    Example: whitecaves campaign send --file contacts.csv --text "Our new menu is out" --name menu-may
    """
    try:
        phones, problems = read_contacts(path)
    except (UnicodeDecodeError, csv.Error) as e:
        raise DaemonError(f"{path}: not a readable CSV file: {e}", code=2) from None
    for p in problems:
        click.echo(f"skipped {p}", err=True)
    if not name:
        digest = hashlib.sha1(text.encode()).hexdigest()[:8]
        name = f"{os.path.splitext(os.path.basename(path))[0]}-{digest}"
    if not phones:
        raise DaemonError(f"{path}: no valid contacts", code=2)
    media = stored_media(where.home, media_file)   # stored once; every entry references it
    try:
        data = request(where, "campaign.send", timeout=60.0, name=name, text_=text, contacts=phones,
                       **({"media": media} if media else {}))
    except DaemonError as e:
        if e.code in (2, 3):
            raise
        raise DaemonError(f"{e}; campaign {name} may be queued (state unknown): check with "
                          f"`whitecaves campaign status --name {name}`, or run the same command again "
                          f"with --name {name} (contacts already queued are skipped)", code=e.code) from None
    data["skipped_lines"] = problems
    if as_json:
        emit_json(data)
    else:
        click.echo(f"campaign {data['campaign']}: {data['queued']} queued, {data['already']} already "
                   f"queued or sent, {len(problems)} lines skipped")


@campaign.command("status")
@click.option("--name", default=None, help="Only this campaign.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@where_options
@handle_errors
def campaign_status(where, name, as_json):
    """Progress of each campaign: contacts, sent, pending, dead.

    \b
    Example: whitecaves campaign status --json
    """
    rows = request(where, "campaign.status", name=name)
    if as_json:
        emit_json(rows)
    else:
        table(None, ["campaign", "contacts", "sent", "pending", "dead"],
              [[r["campaign"], r["contacts"], r["sent"], r["pending"], r["dead"]] for r in rows])


@click.group("outbox", invoke_without_command=True)
@click.option("--dead", is_flag=True, help="Only dead-lettered entries.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@where_options
@click.pass_context
@handle_errors
def outbox_cmd(ctx, where, dead, as_json):
    """Pending outbound messages (or, with --dead, those that gave up).

    \b
    Example: whitecaves outbox --dead --json
    """
    if ctx.invoked_subcommand is not None:
        return
    rows = request(where, "outbox.list", dead=dead)
    if as_json:
        emit_json(rows)
    else:
        table(None, ["id", "to", "kind", "master", "state", "attempts", "last error", "created"],
              [[r["id"], r["to"], r["kind"], r["master"] or r["via"] or "", r["state"], r["attempts"],
                r["last_error"], _ts(r["created_ts"])] for r in rows])


@outbox_cmd.command("retry")
@click.argument("entry_id", type=int, required=False)
@click.option("--all-dead", is_flag=True, help="Every dead-lettered entry.")
@where_options
@handle_errors
def outbox_retry(where, entry_id, all_dead):
    """Give a dead-lettered entry (or all of them) a fresh set of attempts.

    \b
    Example: whitecaves outbox retry 42
    """
    if (entry_id is None) == (not all_dead):
        raise DaemonError("name one outbox ID, or --all-dead (not both)", code=2)
    data = request(where, "outbox.retry", id=entry_id, all_dead=all_dead)
    click.echo(f"retrying {len(data['retried'])} entries" + (f": {data['retried']}" if data["retried"] else ""))


@click.group()
def balancer():
    """How outbound messages are spread over the masters."""


@balancer.command("strategy", epilog="\b\nStrategies:\n" + "\n".join(
    f"  {name:<13} {what}" for name, what in STRATEGY_HELP.items()))
@click.argument("name", type=click.Choice(STRATEGIES))
@where_options
@handle_errors
def balancer_strategy(where, name):
    """Switch the strategy for messages with no owner yet, at run time.

    \b
    Example: whitecaves balancer strategy least-loaded
    """
    data = request(where, "balancer.strategy", name=name)
    click.echo(f"strategy {data['strategy']} (was {data['previous']})")


@click.group()
def load():
    """Load figures of the masters."""


@load.command("metrics")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@where_options
@handle_errors
def load_metrics(where, as_json):
    """Per-master load share, throughput, queue depth, and the balance quality (100 = even).

    \b
    Example: whitecaves load metrics --json
    """
    data = request(where, "load.metrics")
    if as_json:
        emit_json(data)
        return
    table(f"strategy {data['strategy']} · balance quality {data['balance_quality']} · "
          f"queue {data['queue_depth']} · dead {data['dead']}",
          ["master", "name", "share %", "messages", "convs", "queue", "in flight", "msg/s", "device"],
          [[r["master"], r["name"], r["load_share"], r["messages"], r["conversations"], r["queue_depth"],
            r["in_flight"], r["throughput_per_s"], r["device_state"]] for r in data["masters"]])


@click.group()
def failover():
    """Hand a master's conversations to its siblings, and back."""


@failover.command("run")
@click.argument("phone", callback=phone_arg)
@click.option("--to", callback=phone_arg, default=None, help="Hand everything to this master.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@where_options
@handle_errors
def failover_run(where, phone, to, as_json):
    """Fail PHONE over now (maintenance); it takes no new conversations until restored.

    \b
    Example: whitecaves failover run +971505760056 --to +971553633595
    """
    data = request(where, "failover.run", phone=phone, to=to)
    if as_json:
        emit_json(data)
    elif data["status"] == "waiting":
        click.echo(f"no healthy master to take {phone}'s {data['waiting']} conversations: "
                   f"the failover completes as soon as one is healthy")
    else:
        targets = ", ".join(f"{p} ({n})" for p, n in data["targets"].items()) or "nobody (it owned none)"
        click.echo(f"failover of {phone} {data['status']}: {data['moved']} conversations to {targets}, "
                   f"{data['retargeted']} queued messages re-targeted")


@failover.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@where_options
@handle_errors
def failover_status(where, as_json):
    """Failover state of each master, and the history of failovers.

    \b
    Example: whitecaves failover status --json
    """
    data = request(where, "failover.status")
    if as_json:
        emit_json(data)
        return
    table("masters", ["master", "device", "health", "failed over", "waiting", "auto", "convs", "handed away"],
          [[r["master"], r["device_state"], r["health"], r["failed_over"], r["waiting"], r["auto_failover"],
            r["conversations"], r["handed_away"]] for r in data["masters"]])
    table("history", ["when", "kind", "master", "status", "reason", "count", "targets", "ms"],
          [[_ts(e["ts"]), e["kind"], e["master"], e.get("status", ""), e.get("reason", ""), e.get("count", ""),
            ", ".join(f"{p}:{n}" for p, n in (e.get("targets") or {}).items()),
            round(e.get("duration_s", 0) * 1000)] for e in data["history"]])


@failover.command("resume")
@click.argument("phone", callback=phone_arg)
@where_options
@handle_errors
def failover_resume(where, phone):
    """Turn automatic failover of PHONE back on (it pauses after too many in a window).

    \b
    Example: whitecaves failover resume +971505760056
    """
    request(where, "failover.resume", phone=phone)
    click.echo(f"automatic failover of {phone} resumed")


@failover.command("restore")
@click.argument("phone", callback=phone_arg)
@where_options
@handle_errors
def failover_restore(where, phone):
    """Move the conversations a failover took from PHONE back to it, gradually (once it is healthy).

    Batches of [failover] restore_batch every restore_step_s, so no sibling is emptied at once.

    \b
    Example: whitecaves failover restore +971505760056
    """
    data = request(where, "failover.restore", phone=phone)
    rest = data["total"] - data["count"]
    click.echo(f"{data['count']} conversations restored to {phone}"
               + (f"; {rest} more follow in batches every {data['step_s']:g} s" if rest > 0 else ""))


def register(main) -> None:
    """Add this module's commands to the `whitecaves` group."""
    for cmd in (send_cmd, campaign, outbox_cmd, balancer, load, failover):
        main.add_command(cmd)
