"""`whitecaves commission ...` and `whitecaves payout ...`: rules, calculations, approvals, earnings, payouts.

Every amount is a decimal string ("40000.00"): JSON carries strings, never
floats. Each command is one request to the daemon's gateway
(deals/commands.py); what the ledger lines mean: docs/deals.md.
"""
from __future__ import annotations

import csv

import click

from cli_commands.common import EXIT_USAGE, emit_json, handle_errors, phone_arg, table, where_options
from cli_commands.deals import when
from daemon.client import request
from runtime.vocabulary import TRANSACTIONS

PERIODS = ("month", "year", "all")
CALC_KEYS = ("rule", "base", "commission", "vat", "total", "splits", "needs_approval")


@click.group()
def commission():
    """Commission: the rules in force, calculations, approvals, earnings and the ledger."""


@commission.group("rules", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: [{"name", "kind", "priority", "active", "approval_above", "minimum", "scope", ...}].')
@where_options
@handle_errors
@click.pass_context
def rules(ctx, where, as_json):
    """The commission rules in force (and `rules import FILE` to replace them).

    \b
    Example: whitecaves commission rules --json
    """
    if ctx.invoked_subcommand is not None:
        return
    rows = request(where, "commission.rules")
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no commission rules; import a file: whitecaves commission rules import rules.toml")
        return
    table(None, ["name", "kind", "priority", "active", "rate / amount", "approval above", "scope"],
          [[r["name"], r["kind"] + (f" ({r['mode']})" if r.get("mode") else ""), r["priority"],
            "yes" if r["active"] else "no", r.get("rate") or r.get("amount") or "tiers", r["approval_above"],
            _scope(r["scope"])] for r in rows])


def _scope(scope: dict) -> str:
    parts = [f"{k}={','.join(v)}" for k, v in scope.items() if isinstance(v, list) and v]
    parts += [f"{k}={v}" for k, v in scope.items() if isinstance(v, str) and v]
    return " ".join(parts) or "everything"


@rules.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@where_options
@handle_errors
def rules_import(where, file):
    """Validate the TOML rules FILE whole, then put it in force (an error names the rule and the field).

    \b
    Example: whitecaves commission rules import rules.toml
    """
    try:
        with open(file, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        click.echo(f"error: cannot read {file}: {e}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    names = request(where, "commission.rules_import", text=text)["rules"]
    click.echo(f"imported {len(names)} rule(s): {', '.join(names)}")


@commission.command("calc")
@click.option("--price", required=True, help="The price (annual rent for leases), a decimal.")
@click.option("--type", "property_type", required=True, help="Property type: villa, apartment, ...")
@click.option("--transaction", required=True, type=click.Choice(TRANSACTIONS), help="What kind of deal.")
@click.option("--agent", callback=phone_arg, help="The agent (a registered one), for agent-specific rules.")
@click.option("--project", help="The project, for project-specific rules.")
@click.option("--date", help="Calculate as on this day, YYYY-MM-DD (default: today).")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: {"rule", "base", "commission", "vat", "total", "splits": [{"to", "amount"}], '
                   '"needs_approval"}, amounts as decimal strings.')
@where_options
@handle_errors
def calc(where, price, property_type, transaction, agent, project, date, as_json):
    """The commission a deal would earn under the rules in force.

    \b
    Example: whitecaves commission calc --price 2000000 --type villa --transaction sale --json
    """
    r = request(where, "commission.calc", price=price, property_type=property_type, transaction=transaction,
                agent=agent, project=project, date=date)
    if as_json:
        emit_json({k: r[k] for k in CALC_KEYS})
        return
    cur = r["currency"]
    click.echo(f"{r['rule']}: commission {r['commission']} {cur} + VAT {r['vat']} = {r['total']} {cur} "
               f"on {r['base']}" + ("; needs an admin's approval" if r["needs_approval"] else ""))
    for s in r["splits"]:
        click.echo(f"  {s['to']}: {s['amount']}")


@commission.command("approve")
@click.argument("ref")
@where_options
@handle_errors
def approve(where, ref):
    """Approve the pending commission REF (a line id C-000001, or its deal's id).

    \b
    Example: whitecaves commission approve C-000001
    """
    e = request(where, "commission.approve", ref=ref)
    click.echo(f"approved {e['id']} (deal {e['deal']}, {e['agent']}): {e['commission']} + VAT {e['vat']}")


@commission.command("reject")
@click.argument("ref")
@click.option("--reason", required=True, help="Why it is rejected.")
@where_options
@handle_errors
def reject(where, ref, reason):
    """Reject the pending commission REF; it never counts.

    \b
    Example: whitecaves commission reject C-000001 --reason "wrong price"
    """
    e = request(where, "commission.reject", ref=ref, reason=reason)
    click.echo(f"rejected {e['id']} (deal {e['deal']}, {e['agent']})")


def _lines_table(title: str | None, lines: list[dict]) -> None:
    table(title, ["line", "when", "kind", "status", "agent", "deal", "rule", "commission", "vat", "agent part",
                  "payout"],
          [[x["id"], when(x["ts"]), x["kind"], x["status"], x["agent"], x["deal"] or "", x["rule"] or "",
            x["commission"], x["vat"], x["agent_amount"], x["payout"] or ""] for x in lines])


@commission.command("earnings")
@click.argument("agent", callback=phone_arg)
@click.option("--period", type=click.Choice(PERIODS), default="all", show_default=True,
              help="This month, this year (Asia/Dubai), or everything.")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: {"agent", "earned", "clawbacks", "paid", "balance", "lines", "period", "currency"}.')
@where_options
@handle_errors
def earnings(where, agent, period, as_json):
    """AGENT's approved commission minus clawbacks minus paid, with the lines behind it.

    \b
    Example: whitecaves commission earnings +971500000002 --period month
    """
    e = request(where, "commission.earnings", agent=agent, period=period)
    if as_json:
        emit_json(e)
        return
    cur = e["currency"]
    click.echo(f"{e['agent']} ({period}): earned {e['earned']} {cur}, clawed back {e['clawbacks']}, "
               f"paid {e['paid']}; balance {e['balance']} {cur}")
    if e["lines"]:
        _lines_table(None, e["lines"])


@commission.command("ledger")
@click.option("--agent", callback=phone_arg, help="Only this agent's lines.")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: [{"id", "kind", "status", "deal", "agent", "rule", "commission", "vat", '
                   '"agent_amount", "ts", "refers_to", "payout", "note"}].')
@where_options
@handle_errors
def ledger(where, agent, as_json):
    """Every ledger line (earned, clawback, payout), oldest first, with its status now.

    \b
    Example: whitecaves commission ledger --agent +971500000002
    """
    lines = request(where, "commission.ledger", agent=agent)
    if as_json:
        emit_json(lines)
    elif not lines:
        click.echo("the ledger is empty")
    else:
        _lines_table(None, lines)


@commission.command("export")
@click.option("--csv", "csv_file", required=True, type=click.Path(dir_okay=False, writable=True),
              help="The CSV file to write (one row per ledger line).")
@where_options
@handle_errors
def export(where, csv_file):
    """Write the whole ledger to a CSV file for the accountant (amounts as decimal strings).

    \b
    Example: whitecaves commission export --csv ledger.csv
    """
    data = request(where, "commission.export")
    try:
        with open(csv_file, "w", newline="", encoding="utf-8") as f:
            out = csv.DictWriter(f, fieldnames=data["columns"])
            out.writeheader()
            out.writerows(data["rows"])
    except OSError as e:
        click.echo(f"error: cannot write {csv_file}: {e.strerror}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    click.echo(f"wrote {len(data['rows'])} line(s) to {csv_file}")


@click.group()
def payout():
    """Payout requests: an agent's approved, unpaid commission, paid once."""


@payout.command("request")
@click.argument("agent", callback=phone_arg)
@where_options
@handle_errors
def request_(where, agent):
    """Put AGENT's approved, unpaid lines into one payout request and print its id.

    \b
    Example: whitecaves payout request +971500000002
    """
    p = request(where, "payout.request", agent=agent)
    click.echo(p["id"])
    click.echo(f"{p['amount']} for {len(p['lines'])} line(s): {', '.join(p['lines'])}", err=True)


@payout.command("pay")
@click.argument("payout_id")
@where_options
@handle_errors
def pay(where, payout_id):
    """Mark the payout request PAYOUT_ID paid (once; paying again is refused).

    \b
    Example: whitecaves payout pay P-000001
    """
    p = request(where, "payout.pay", payout_id=payout_id)
    click.echo(f"paid {p['id']}: {p['amount']} to {p['agent']} (ledger line {p['payout_line']})")


@payout.command("list")
@click.option("--agent", callback=phone_arg, help="Only this agent's requests.")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: [{"id", "agent", "amount", "status", "lines", "requested_ts", "paid_ts", '
                   '"payout_line"}].')
@where_options
@handle_errors
def list_(where, agent, as_json):
    """The payout requests, oldest first.

    \b
    Example: whitecaves payout list --json
    """
    rows = request(where, "payout.list", agent=agent)
    if as_json:
        emit_json(rows)
    elif not rows:
        click.echo("no payout requests")
    else:
        table(None, ["id", "agent", "amount", "status", "lines", "requested", "paid"],
              [[p["id"], p["agent"], p["amount"], p["status"], len(p["lines"]), when(p["requested_ts"]),
                when(p["paid_ts"])] for p in rows])


def register(main) -> None:
    main.add_command(commission)
    main.add_command(payout)
