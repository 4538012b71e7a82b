"""`whitecaves sim ...`: drive the simulated WhatsApp network (tests, demo).

The sim listens on the daemon's port + 1 unless [sim] port says otherwise;
--sim-port overrides both.
"""
from __future__ import annotations

import os
import sys
import time

import click

from cli_commands.common import emit_json, phone_arg, table, where_options
from runtime import config
from transports.sim import compose, control, protocol


def _port(where, override: int | None) -> int:
    if override:
        return override
    return config.load(where.home).sim.port or where.port + 1


def sim_options(fn):
    fn = click.option("--sim-port", type=int, default=None,
                      help="The simulated network's port (default: the daemon's port + 1).")(fn)
    return where_options(fn)


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except control.SimUnreachable as e:
        click.echo(f"error: the simulated network is not reachable ({e}); "
                   f"start it with: whitecaves daemon start --transport sim", err=True)
        sys.exit(3)
    except control.SimBadRequest as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
    except control.SimError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)


@click.group()
def sim():
    """The simulated WhatsApp network: a test double, never WhatsApp itself."""


@sim.command()
@sim_options
def serve(where, sim_port):
    """Run the simulated network on its own until Ctrl+C.

    \b
    Example: whitecaves sim serve --port 19500   (listens on 19501)
    """
    from transports.sim.server import serve as run

    run("127.0.0.1", _port(where, sim_port), os.path.join(where.home, "sim"))


@sim.command("send")
@click.option("--from", "from_", required=True, callback=phone_arg, help="The customer's number.")
@click.option("--to", required=True, callback=phone_arg, help="The master's number.")
@click.argument("text", required=False, default="")
@click.option("--image", type=click.Path(dir_okay=False), help="Send this file as a photo "
              "(TEXT: its caption).")
@click.option("--video", type=click.Path(dir_okay=False), help="Send this file as a video.")
@click.option("--voice", type=int, metavar="SECONDS", help="Send a voice note this long.")
@click.option("--document", type=click.Path(dir_okay=False), help="Send this file as a document.")
@click.option("--sticker", type=click.Path(dir_okay=False), help="Send this file as a sticker.")
@click.option("--location", metavar="LAT,LON", help="Send a location (TEXT: the place's name).")
@click.option("--contact", callback=phone_arg, metavar="+PHONE",
              help="Send a contact card (TEXT: the contact's name).")
@click.option("--ago", metavar="DURATION", default=None,
              help="Written this long ago (90s, 15m, 2h, 1d): its original time.")
@click.option("--lid", is_flag=True, help="Send from the customer's LID, the phone hidden "
              "(until `whitecaves sim lid-reveal`).")
@sim_options
def send(where, sim_port, from_, to, text, image, video, voice, document, sticker, location,
         contact, ago, lid):
    """A customer writes TEXT (or sends a photo, video, voice note, document, sticker,
    location or contact card) to a master. A disconnected master gets it as its offline
    backlog when it comes back.

    \b
    Examples:
      whitecaves sim send --from +971501111111 --to +971505760056 "!ping"
      whitecaves sim send --from +971501111111 --to +971505760056 --image unit.jpg "the view"
      whitecaves sim send --from +971501111111 --to +971505760056 --voice 14 --ago 2h
      whitecaves sim send --from +971501111111 --to +971505760056 --location 25.2,55.3 "Marina Walk"
    """
    try:
        text, message = compose.message_fields(text, image=image, video=video, voice=voice,
                                               document=document, sticker=sticker,
                                               location=location, contact=contact)
        if ago is not None:
            message["ago"] = compose.parse_duration(ago)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    if lid:
        message["lid"] = True
    click.echo(_call(control.send, "127.0.0.1", _port(where, sim_port), from_, to, text, **message))


def _change(where, sim_port, from_, to, change, target, text="") -> None:
    click.echo(_call(control.change, "127.0.0.1", _port(where, sim_port), from_, to, change,
                     target, text))


def change_options(fn):
    fn = click.option("--to", required=True, callback=phone_arg, help="The master's number.")(fn)
    fn = click.option("--from", "from_", required=True, callback=phone_arg,
                      help="The customer's number.")(fn)
    return sim_options(fn)


@sim.command()
@click.argument("message_id")
@click.argument("text")
@change_options
def edit(where, sim_port, from_, to, message_id, text):
    """The customer changes message MESSAGE_ID (as `sim send` printed it) to TEXT.

    \b
    Example: whitecaves sim edit --from +971501111111 --to +971505760056 SIM0A1B2C "2 bedrooms"
    """
    _change(where, sim_port, from_, to, "edit", message_id, text)


@sim.command()
@click.argument("message_id")
@change_options
def revoke(where, sim_port, from_, to, message_id):
    """The customer deletes message MESSAGE_ID for everyone.

    \b
    Example: whitecaves sim revoke --from +971501111111 --to +971505760056 SIM0A1B2C
    """
    _change(where, sim_port, from_, to, "revoke", message_id)


@sim.command()
@click.argument("message_id")
@click.argument("emoji", required=False, default="")
@change_options
def react(where, sim_port, from_, to, message_id, emoji):
    """The customer reacts to message MESSAGE_ID with EMOJI (none: takes the reaction back).

    \b
    Example: whitecaves sim react --from +971501111111 --to +971505760056 SIM0A1B2C 👍
    """
    _change(where, sim_port, from_, to, "react", message_id, emoji)


@sim.command("phone-reply")
@click.option("--from", "from_", required=True, callback=phone_arg, help="The master's number.")
@click.option("--to", required=True, callback=phone_arg, help="The customer's number.")
@click.argument("text")
@sim_options
def phone_reply(where, sim_port, from_, to, text):
    """A person types TEXT on master FROM's phone to customer TO: the customer receives it,
    and the master's session sees it as written by the master's own phone.

    \b
    Example: whitecaves sim phone-reply --from +971505760056 --to +971501111111 "Sara here"
    """
    click.echo(_call(control.phone_reply, "127.0.0.1", _port(where, sim_port), from_, to, text))


@sim.command("lid-reveal")
@click.argument("customer", callback=phone_arg)
@sim_options
def lid_reveal(where, sim_port, customer):
    """Make the phone number behind CUSTOMER's LID known (connected masters are told).

    \b
    Example: whitecaves sim lid-reveal +971501111111
    """
    lid = _call(control.lid_reveal, "127.0.0.1", _port(where, sim_port), customer)
    click.echo(f"{lid} is {customer}")


@sim.command()
@click.argument("customer", callback=phone_arg)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@sim_options
def inbox(where, sim_port, customer, as_json):
    """What CUSTOMER received.

    \b
    Example: whitecaves sim inbox +971501111111 --json
    """
    items = _call(control.inbox, "127.0.0.1", _port(where, sim_port), customer)
    if as_json:
        emit_json(items)
    else:
        table(None, ["id", "from", "text", "time (UTC)"],
              [[i["id"], i["from"], i["text"], time.strftime("%H:%M:%S", time.gmtime(i["ts"]))
                + f".{int(i['ts'] % 1 * 1000):03d}"] for i in items])


@sim.command()
@click.argument("master", callback=phone_arg)
@click.argument("kind", type=click.Choice(list(protocol.FAULT_KINDS)))
@click.option("--seconds", type=float, default=None,
              help="ban: how long; slow-send: how long each send's answer is held (0 ends it).")
@click.option("--ms", type=float, default=None, help="latency: how much.")
@sim_options
def fault(where, sim_port, master, kind, seconds, ms):
    """Inject a fault into MASTER's account.

    \b
    Example: whitecaves sim fault +971505760056 ban --seconds 3
             whitecaves sim fault +971505760056 slow-send --seconds 40
    """
    _call(control.fault, "127.0.0.1", _port(where, sim_port), master, kind, seconds=seconds, ms=ms)
    click.echo(f"{kind} injected into {master}")


@sim.command()
@click.argument("master", callback=phone_arg)
@sim_options
def heal(where, sim_port, master):
    """Clear MASTER's hang, latency and ban (a logout needs a relink).

    \b
    Example: whitecaves sim heal +971505760056
    """
    _call(control.heal, "127.0.0.1", _port(where, sim_port), master)
    click.echo(f"{master} healed")


@sim.command()
@click.argument("customer", callback=phone_arg)
@sim_options
def unregistered(where, sim_port, customer):
    """Make CUSTOMER a number that is not on WhatsApp: every send to it fails, for good.

    \b
    Example: whitecaves sim unregistered +447700900123
    """
    _call(control.unregistered, "127.0.0.1", _port(where, sim_port), customer)
    click.echo(f"{customer} is not on WhatsApp now")


@sim.command()
@sim_options
def status(where, sim_port):
    """The simulated accounts and counters (JSON).

    \b
    Example: whitecaves sim status
    """
    emit_json(_call(control.status, "127.0.0.1", _port(where, sim_port)))


def register(main: click.Group) -> None:
    main.add_command(sim)
