"""`whitecaves agent list|show|edit|remove|duty`, `whitecaves leads`, `whitecaves lead open|assign`, `whitecaves agents
report`: the agents and their leads (docs/agents.md).

Each command sends one request to the daemon's gateway (agents/commands.py,
deals/agent_commands.py), which runs it in one store transaction: a refusal
changes nothing and exits 2 (wrong input) or 1 (the state refuses it now).
`agent add` lives with the deal commands (cli_commands/deals.py); the agent
group is shared.
"""
from __future__ import annotations

import click

from cli_commands.common import emit_json, handle_errors, phone_arg, table, where_options
from cli_commands.deals import agent, when
from daemon.client import request
from runtime.vocabulary import AGENT_KINDS, LEAD_STATUSES

JSON_HELP = "Print JSON instead of a table."


def _seconds(value) -> str:
    return "" if value is None else f"{value:.0f} s"


@agent.command("list")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: [{"phone", "name", "kind", "brn", "brn_expiry", "licence_days_left", '
                   '"licence_expiring", "regions", "specialties", "plan", "on_duty", ...}].')
@where_options
@handle_errors
def agent_list(where, as_json):
    """The agents; licences expiring within 30 days are marked.

    \b
    Example: whitecaves agent list --json
    """
    rows = request(where, "agent.list")
    if as_json:
        emit_json(rows)
        return
    table(None, ["phone", "name", "kind", "BRN", "expires", "duty", "regions", "plan"],
          [[a["phone"], a["name"], a["kind"], a["brn"],
            (a["brn_expiry"] + (f"  EXPIRES IN {a['licence_days_left']} DAYS" if a["licence_expiring"] else "")
             + ("  EXPIRED" if (a["licence_days_left"] or 0) < 0 else "")),
            "on" if a["on_duty"] else "off", ",".join(a["regions"]), a["plan"] or "(100 %)"] for a in rows])
    soon = [a for a in rows if a["licence_expiring"]]
    if soon:
        click.echo("Licences expiring within 30 days: " +
                   ", ".join(f"{a['name']} ({a['phone']}) {a['brn_expiry']}" for a in soon))


@agent.command("show")
@click.argument("phone", callback=phone_arg)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: the agent and the leads they hold.")
@where_options
@handle_errors
def agent_show(where, phone, as_json):
    """One agent: kind, licence, plan, duty, and the leads they hold.

    \b
    Example: whitecaves agent show +971500000002
    """
    a = request(where, "agent.show", phone=phone)
    if as_json:
        emit_json(a)
        return
    expiring = f" (expires in {a['licence_days_left']} days)" if a["licence_expiring"] else ""
    click.echo(f"{a['phone']} {a['name']}, {a['kind']}, {'on' if a['on_duty'] else 'off'} duty")
    click.echo(f"  BRN {a['brn'] or '-'} until {a['brn_expiry'] or '-'}{expiring}; plan {a['plan'] or '(100 %)'}")
    click.echo(f"  regions {','.join(a['regions']) or '-'}; specialties {','.join(a['specialties']) or '-'}")
    for lead in a["leads"]:
        click.echo(f"  lead {lead['id']} {lead['status']} {lead['customer']}")


def _words(value: str | None) -> list[str] | None:
    """--regions/--specialties as `agent add` sends them: None (not given) stays None, "" clears."""
    return None if value is None else [w for w in value.split(",") if w.strip()]


@agent.command("edit")
@click.argument("phone", callback=phone_arg)
@click.option("--name", default=None, help="The agent's name.")
@click.option("--kind", type=click.Choice(AGENT_KINDS), default=None,
              help="employee or freelancer (a broker: needs a BRN to be paid commission), or referrer.")
@click.option("--brn", default=None, help='The RERA broker card number ("" with --brn-expiry "": no card).')
@click.option("--brn-expiry", default=None, help="The broker card's expiry, YYYY-MM-DD (a renewed card).")
@click.option("--regions", default=None, help='Comma-separated areas the agent covers: Marina,JVC ("": none).')
@click.option("--specialties", default=None, help='Comma-separated: sale,lease ("": none).')
@click.option("--plan", default=None, help='The commission plan\'s name (from the rules file); "" = 100 %.')
@where_options
@handle_errors
def agent_edit(where, phone, name, kind, brn, brn_expiry, regions, specialties, plan):
    """Change an agent's details; what is not given stays. A bad value changes nothing.

    A new --brn-expiry (a renewed card) is warned about afresh, 30 and 7 days before it.

    \b
    Example: whitecaves agent edit +971500000002 --brn 12345 --brn-expiry 2028-06-30
    """
    data = request(where, "agent.edit", phone=phone, name=name, kind=kind, brn=brn, brn_expiry=brn_expiry,
                   regions=_words(regions), specialties=_words(specialties), plan=plan)
    for warning in data.get("warnings", []):
        click.echo(f"warning: {warning}", err=True)
    if not data["changed"]:
        click.echo(f"{data['phone']}: nothing changed")
    for field, (old, new) in data["changed"].items():
        click.echo(f"{data['phone']} {field}: {_shown(old)} -> {_shown(new)}")


def _shown(value) -> str:
    if isinstance(value, list):
        value = ",".join(value)
    return repr(value) if value else "(none)"


@agent.command("remove")
@click.argument("phone", callback=phone_arg)
@where_options
@handle_errors
def agent_remove(where, phone):
    """Remove an agent; refused while they hold assigned or accepted leads or open deals (named).

    \b
    Example: whitecaves agent remove +971500000002
    """
    click.echo(f"{request(where, 'agent.remove', phone=phone)['phone']} is no longer an agent")


@agent.command("duty")
@click.argument("phone", callback=phone_arg)
@click.argument("state", type=click.Choice(["on", "off"]))
@where_options
@handle_errors
def agent_duty(where, phone, state):
    """Put an agent on or off duty; on duty, waiting leads are offered again.

    \b
    Example: whitecaves agent duty +971500000002 off
    """
    data = request(where, "agent.duty", phone=phone, state=state)
    offered = f"; offered {', '.join(data['offered'])}" if data["offered"] else ""
    click.echo(f"{data['phone']} is {'on' if data['on_duty'] else 'off'} duty{offered}")


@click.command("leads")
@click.option("--agent", "agent_", callback=phone_arg, help="Only this agent's leads.")
@click.option("--status", type=click.Choice(LEAD_STATUSES), help="Only leads with this status.")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: [{"id", "customer", "master", "agent", "status", "created", "accepted"}].')
@where_options
@handle_errors
def leads(where, agent_, status, as_json):
    """The leads, oldest first.

    \b
    Example: whitecaves leads --agent +971500000002 --status accepted --json
    """
    rows = request(where, "lead.list", agent=agent_, status=status)
    if as_json:
        emit_json(rows)
        return
    table(None, ["id", "status", "customer", "master", "agent", "created", "accepted"],
          [[r["id"], r["status"], r["customer"], r["master"], r["agent"] or "", when(r["created"]),
            when(r["accepted"])] for r in rows])


@click.group()
def lead():
    """One customer's lead: open one, or give it to an agent."""


@lead.command("open")
@click.argument("customer", callback=phone_arg)
@click.option("--text", default="", help="What the lead is about (shown to the agent).")
@where_options
@handle_errors
def lead_open(where, customer, text):
    """Open a lead for CUSTOMER (who wrote before), offered to an agent on duty at once.

    \b
    Example: whitecaves lead open +971500000009 --text "villa in JVC"
    """
    data = request(where, "lead.open", customer=customer, text=text)
    click.echo(f"{data['id']} {data['status']}" + (f" to {data['agent']}" if data["agent"] else ""))


@lead.command("assign")
@click.argument("customer", callback=phone_arg)
@click.argument("agent_phone", callback=phone_arg)
@where_options
@handle_errors
def lead_assign(where, customer, agent_phone):
    """Give CUSTOMER's lead to AGENT_PHONE, accepted; first-touch protection moves to them.

    \b
    Example: whitecaves lead assign +971500000009 +971500000002
    """
    data = request(where, "lead.assign", customer=customer, agent=agent_phone)
    click.echo(f"{data['id']} accepted by {data['agent']}")


@click.group("agents")
def agents_group():
    """All agents at once."""


@agents_group.command("report")
@click.option("--period", type=click.Choice(["month", "year", "all"]), default="month", show_default=True,
              help="This month, this year, or all time.")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: {"period", "currency", "agents": [{"agent", "leads_assigned", "accepted", '
                   '"median_accept_s", "median_first_reply_s", "deals", "closed", "commission"}]}.')
@where_options
@handle_errors
def report(where, period, as_json):
    """The funnel per agent: leads assigned, accepted, median time to accept and to first reply, deals, commission.

    \b
    Example: whitecaves agents report --period month
    """
    data = request(where, "agents.report", period=period)
    if as_json:
        emit_json(data)
        return
    table(f"agents, this {period}" if period != "all" else "agents, all time",
          ["agent", "assigned", "accepted", "to accept", "to reply", "deals", "closed",
           f"commission ({data['currency']})"],
          [[f["agent"], f["leads_assigned"], f["accepted"], _seconds(f["median_accept_s"]),
            _seconds(f["median_first_reply_s"]), f["deals"], f["closed"], f["commission"]] for f in data["agents"]])


def register(main) -> None:
    main.add_command(agent)
    main.add_command(leads)
    main.add_command(lead)
    main.add_command(agents_group)
