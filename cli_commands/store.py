"""`whitecaves store check|delete|restore`: records that do not fit their type.

These open the home's LMDB store directly (several processes may use one
LMDB environment at once), so they work whether the daemon runs or not —
also when a bad record keeps it from starting.
"""
from __future__ import annotations

import click

from cli_commands.common import emit_json, handle_errors, table, where_options
from daemon.client import DaemonError
from storage import Store, quarantine
from storage.env import DATABASES


def _open(where) -> Store:
    try:
        return Store(where.home)
    except Exception as e:  # a store from the future, a broken file: say so, change nothing
        raise DaemonError(f"cannot open the store of {where.home}: {e}") from None


def _db(name: str) -> str:
    if name not in DATABASES or name == "quarantine":
        raise DaemonError(f"unknown database {name!r}; one of {', '.join(d for d in DATABASES if d != 'quarantine')}",
                          code=2)
    return name


@click.group("store")
def store():
    """The store's records: find, drop or restore those that do not fit their type."""


@store.command("check")
@click.option("--json", "as_json", is_flag=True, help='Print [{"db", "key", "reason", "state"}].')
@where_options
@handle_errors
def check(where, as_json):
    """List quarantined records and live records that do not fit their type (exit 1 if any).

    \b
    Example: whitecaves store check --json
    """
    with _open(where) as s, s.read() as txn:
        rows = quarantine.check(txn)
    if as_json:
        emit_json(rows)
    elif rows:
        table(None, ["db", "key", "state", "reason"], [[r["db"], r["key"], r["state"], r["reason"]] for r in rows])
    else:
        click.echo("every record fits its type; nothing quarantined")
    raise SystemExit(1 if rows else 0)


@store.command("delete")
@click.argument("db")
@click.argument("key")
@where_options
@handle_errors
def delete(where, db, key):
    """Drop the quarantined (or invalid) record KEY of DB for good.

    KEY as `store check` prints it (text, or hex:… for binary keys).

    \b
    Example: whitecaves store delete masters +971505760056
    """
    db = _db(db)
    with _open(where) as s:
        done = s.write(lambda txn: quarantine.delete(txn, db, quarantine.parse_key(key)))
    if not done:
        raise DaemonError(f"nothing quarantined or invalid in {db!r} at key {key}")
    click.echo(f"deleted {db} {key}")


@store.command("restore")
@click.argument("db")
@click.argument("key")
@click.option("--as-is", is_flag=True, help="Put it back even though it still does not fit its type.")
@where_options
@handle_errors
def restore(where, db, key, as_is):
    """Put the quarantined record KEY of DB back where it was.

    Refused while it still does not fit its type (it would be set aside at
    the next read), unless --as-is.

    \b
    Example: whitecaves store restore conversations +447700900001
    """
    db = _db(db)
    with _open(where) as s:
        why = s.write(lambda txn: quarantine.restore(txn, db, quarantine.parse_key(key), as_is))
    if why:
        raise DaemonError(f"not restored: {why}")
    click.echo(f"restored {db} {key}")


def register(main) -> None:
    main.add_command(store)
