"""`whitecaves conversations [--waiting] | show +CUSTOMER`: customers' conversations,
those waiting for a person (issue 14), and one conversation's messages."""
from __future__ import annotations

import time

import click

from cli_commands.common import emit_json, handle_errors, phone_arg, table, where_options
from daemon.client import request


def _ts(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else ""


@click.group("conversations", invoke_without_command=True)
@click.option("--master", callback=phone_arg, default=None, help="Only those this master owns.")
@click.option("--waiting", is_flag=True,
              help="Only those whose last customer message nobody answered, oldest first.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@where_options
@handle_errors
@click.pass_context
def conversations(ctx, where, master, waiting, as_json):
    """Customers' conversations and the master that owns each.

    \b
    Examples:
      whitecaves conversations --master +971505760056 --json
      whitecaves conversations --waiting
      whitecaves conversations show +447700900001
    """
    if ctx.invoked_subcommand is not None:
        return
    if waiting:
        rows = [r for r in request(where, "conversations.waiting") if not master or r["master"] == master]
        if as_json:
            emit_json(rows)
        elif not rows:
            click.echo("no conversation is waiting for a person")
        else:
            table(None, ["customer", "master", "waiting since", "last message"],
                  [[r["customer"], r["master"], _ts(r["waiting_since"]), r["last_text"][:60]] for r in rows])
        return
    rows = request(where, "conversations.list", master=master)
    if as_json:
        emit_json([{k: r[k] for k in ("customer", "master", "messages", "last_ts")} for r in rows])
    else:
        table(None, ["customer", "master", "messages", "last", "handed from"],
              [[r["customer"], r["master"], r["messages"], _ts(r["last_ts"]), r["handed_from"]] for r in rows])


@conversations.command("show")
@click.argument("customer")
@click.option("--json", "as_json", is_flag=True,
              help='Print JSON: [{"at", "direction", "author", "kind", "text", "media", "answered"}].')
@where_options
@handle_errors
def show(where, customer, as_json):
    """CUSTOMER's messages in order (a phone number, or a LID like 1234@lid).

    \b
    Example: whitecaves conversations show +447700900001 --json
    """
    rows = request(where, "conversations.show", customer=customer)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        flags = [f for f, on in (("deleted", r.get("deleted")), ("edited", "original_text" in r),
                                 ("backlog", r.get("backlog")), ("unanswered", not r["answered"])) if on]
        media = f" <{r['media'] or r.get('media_state', '')}>" if r["kind"] not in ("text", "undecryptable") else ""
        click.echo(f"{_ts(r['at'])} {'>' if r['direction'] == 'out' else '<'} {r['author']:<8} "
                   f"{r['text']}{media}{' (' + ', '.join(flags) + ')' if flags else ''}")


@conversations.command("bot-on")
@click.argument("customer")
@where_options
@handle_errors
def bot_on(where, customer):
    """Let the bot answer CUSTOMER again before the quiet time after a person's answer ends.

    \b
    Example: whitecaves conversations bot-on +447700900001
    """
    data = request(where, "conversations.bot_on", state="on", customer=customer)
    click.echo(f"the bot answers {data['customer']} again" if data["was_muted"]
               else f"the bot was not quiet with {data['customer']}")


def register(main) -> None:
    main.add_command(conversations)
