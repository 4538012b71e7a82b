"""`whitecaves deal new|stage|close|cancel|reopen|list|show` and `whitecaves agent add`: the deal pipeline.

Each command sends one request to the daemon's gateway (deals/commands.py),
which runs it in one store transaction: a refusal changes nothing and exits
2 (wrong input) or 1 (the deal refuses it now). Pipeline and ledger:
docs/deals.md.
"""
from __future__ import annotations

import datetime as dt

import click

from cli_commands.common import emit_json, handle_errors, phone_arg, table, where_options
from daemon.client import request
from runtime.vocabulary import AGENT_KINDS, DEAL_STAGES, TRANSACTIONS


def when(ts: float | None) -> str:
    return "" if ts is None else dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def outcome_text(data: dict) -> str:
    """One line for a stage change: what changed, and the commission line written or found."""
    deal, line, cur = data["deal"], data["line"], data["currency"]
    if not data["changed"]:
        stands = f"; its commission line {line['id']} stands ({line['status']})" if line else ""
        return f"{deal['id']} was already {deal['stage']}: nothing changed{stands}"
    text = f"{deal['id']} is now {deal['stage']}"
    if line and line["kind"] == "earned" and line["status"] != "withdrawn":
        text += (f": commission {line['id']} {line['commission']} {cur} + VAT {line['vat']} ({line['rule']}), "
                 f"{line['status'].replace('_', ' ')}")
    elif line and line["kind"] == "clawback":
        text += f": commission clawed back, line {line['id']} {line['agent_amount']} {cur}"
    elif line:
        text += f": its pending commission {line['id']} was withdrawn"
    return text


@click.group()
def deal():
    """The agency's deals: lead → interested → offer → negotiation → inspection → approval → closed."""


@deal.command("new")
@click.option("--agent", required=True, callback=phone_arg, help="The agent's phone (a registered agent).")
@click.option("--customer", required=True, callback=phone_arg, help="The customer's phone.")
@click.option("--property", "property_", required=True, help='The property, free text: "Villa 12, Palm".')
@click.option("--type", "property_type", required=True,
              help="Property type: villa, apartment, townhouse, office, land, ...")
@click.option("--transaction", required=True, type=click.Choice(TRANSACTIONS), help="What kind of deal.")
@click.option("--price", required=True, help="The price (annual rent for leases), a decimal: 2000000 or 2,000,000.")
@click.option("--project", help="The project or development, if any.")
@click.option("--override", is_flag=True, help="Admin: record it although another agent holds the customer "
                                              "by first touch (docs/agents.md).")
@where_options
@handle_errors
def new(where, agent, customer, property_, property_type, transaction, price, project, override):
    """Record a new deal at stage lead and print its id.

    \b
    Example: whitecaves deal new --agent +971500000002 --customer +971500000009 \\
               --property "Villa 12, Palm" --type villa --transaction sale --price 2000000
    """
    data = request(where, "deal.new", agent=agent, customer=customer, property=property_,
                   property_type=property_type, transaction=transaction, price=price, project=project,
                   override=override)
    click.echo(data["id"])


@deal.command("stage")
@click.argument("deal_id")
@click.argument("stage", type=click.Choice(DEAL_STAGES))
@click.option("--reason", default="", help="Why (required for cancelled).")
@where_options
@handle_errors
def stage(where, deal_id, stage, reason):
    """Move deal DEAL_ID to STAGE (backwards too; closed and cancelled go through the ledger).

    \b
    Example: whitecaves deal stage D-000001 offer
    """
    if stage == "cancelled" and not reason.strip():
        raise click.UsageError("cancelling a deal needs --reason TEXT")
    click.echo(outcome_text(request(where, "deal.stage", deal_id=deal_id, stage=stage, reason=reason)))


@deal.command("close")
@click.argument("deal_id")
@click.option("--as-referral", is_flag=True, help="Admin: pay the agent's plan's referral share (an agent "
                                                  "without a valid broker card on the close date).")
@where_options
@handle_errors
def close(where, deal_id, as_referral):
    """Close DEAL_ID: its commission is calculated and recorded once (closing again changes nothing).

    \b
    Example: whitecaves deal close D-000001
             whitecaves deal close D-000002 --as-referral
    """
    click.echo(outcome_text(request(where, "deal.close", deal_id=deal_id, as_referral=as_referral)))


@deal.command("cancel")
@click.argument("deal_id")
@click.option("--reason", required=True, help="Why the deal is cancelled.")
@where_options
@handle_errors
def cancel(where, deal_id, reason):
    """Cancel DEAL_ID; if it was closed, its commission is clawed back.

    \b
    Example: whitecaves deal cancel D-000001 --reason "buyer pulled out"
    """
    click.echo(outcome_text(request(where, "deal.cancel", deal_id=deal_id, reason=reason)))


@deal.command("reopen")
@click.argument("deal_id")
@click.option("--reason", default="", help="Why it is reopened (recorded in its history).")
@where_options
@handle_errors
def reopen(where, deal_id, reason):
    """Reopen a closed or cancelled DEAL_ID at approval; a closed one's commission is clawed back.

    \b
    Example: whitecaves deal reopen D-000001
    """
    click.echo(outcome_text(request(where, "deal.reopen", deal_id=deal_id, reason=reason)))


@deal.command("list")
@click.option("--agent", callback=phone_arg, help="Only this agent's deals.")
@click.option("--stage", type=click.Choice(DEAL_STAGES), help="Only deals at this stage.")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: [{"id", "customer", "agent", "property", "type", "transaction", "price", '
                   '"project", "stage", "created_ts", "history"}].')
@where_options
@handle_errors
def list_(where, agent, stage, as_json):
    """The deals, oldest first.

    \b
    Example: whitecaves deal list --agent +971500000002 --stage offer
    """
    rows = request(where, "deal.list", agent=agent, stage=stage)
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo("no deals")
        return
    table(None, ["id", "stage", "agent", "customer", "property", "type", "transaction", "price", "project"],
          [[d["id"], d["stage"], d["agent"], d["customer"], d["property"], d["type"], d["transaction"],
            d["price"], d["project"] or ""] for d in rows])


@deal.command("show")
@click.argument("deal_id")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: the deal (as in deal list) with "lines": its commission lines.')
@where_options
@handle_errors
def show(where, deal_id, as_json):
    """One deal: its fields, its stage history, its commission lines and their ids.

    \b
    Example: whitecaves deal show D-000001
    """
    d = request(where, "deal.show", deal_id=deal_id)
    if as_json:
        emit_json(d)
        return
    click.echo(f"{d['id']} {d['stage']}: {d['property']}{' (' + d['project'] + ')' if d['project'] else ''}, "
               f"{d['type']} {d['transaction']} {d['price']}; agent {d['agent']}, customer {d['customer']}")
    for h in d["history"]:
        reason = f" ({h['reason']})" if h["reason"] else ""
        click.echo(f"  {when(h['at'])}  {h['from'] or '-'} → {h['to']}  by {h['by'] or '-'}{reason}")
    if d["lines"]:
        table("commission", ["line", "kind", "status", "rule", "commission", "vat", "agent part"],
              [[x["id"], x["kind"], x["status"], x["rule"], x["commission"], x["vat"], x["agent_amount"]]
               for x in d["lines"]])


@click.group()
def agent():
    """The agency's agents, who may use the deal chat commands (!new-deal, !my-earnings, ...)."""


@agent.command("add")
@click.argument("phone", callback=phone_arg)
@click.option("--name", required=True, help="The agent's name.")
@click.option("--kind", type=click.Choice(AGENT_KINDS), default="employee", show_default=True,
              help="employee or freelancer (a broker: needs a BRN to be paid commission), or referrer.")
@click.option("--brn", default="", help="The RERA broker card number.")
@click.option("--brn-expiry", default="", help="The broker card's expiry, YYYY-MM-DD.")
@click.option("--regions", default="", help="Comma-separated areas the agent covers: Marina,JVC.")
@click.option("--specialties", default="", help="Comma-separated: sale,lease.")
@click.option("--plan", default="", help="The commission plan's name (from the rules file); none = 100 %.")
@where_options
@handle_errors
def agent_add(where, phone, name, kind, brn, brn_expiry, regions, specialties, plan):
    """Register PHONE as an agent.

    \b
    Example: whitecaves agent add +971500000002 --name "Aisha" --brn 12345 --brn-expiry 2027-06-30
    """
    data = request(where, "agent.add", phone=phone, name=name, kind=kind, brn=brn, brn_expiry=brn_expiry,
                   regions=[w for w in regions.split(",") if w.strip()],
                   specialties=[w for w in specialties.split(",") if w.strip()], plan=plan)
    for warning in data.get("warnings", []):
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{data['phone']} is an agent ({data['name']}, {data['kind']})")


def register(main) -> None:
    main.add_command(deal)   # the agent group is registered with its other commands by cli_commands/agents.py
