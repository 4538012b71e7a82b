"""Where a master's WhatsApp session is stored: one sqlite file per master under
<home>/sessions/, or the Postgres DSN of [neonize] database shared by all masters.
Pure: building the transport does not import neonize."""
from __future__ import annotations

import os
import sys

from actors.session import make_transport
from runtime.context import Context
from runtime import config


def test_one_sqlite_file_per_master_under_the_home(tmp_path):
    ctx = Context(home=str(tmp_path), port=0, transport="neonize")
    a = make_transport(ctx, config.Config(), "+971505760056")
    b = make_transport(ctx, config.Config(), "+971553633595")
    try:
        assert a.store == os.path.join(str(tmp_path), "sessions", "+971505760056.sqlite")
        assert b.store == os.path.join(str(tmp_path), "sessions", "+971553633595.sqlite")
        assert os.path.isdir(os.path.join(str(tmp_path), "sessions"))
        assert "neonize" not in sys.modules          # the Go runtime is not loaded yet
    finally:
        a.close()
        b.close()


def test_a_postgres_dsn_in_config_is_used_for_every_master(tmp_path):
    dsn = "postgres://wc:secret@127.0.0.1:5432/whitecaves?sslmode=disable"
    cfg = config.from_dict({"neonize": {"database": dsn}})
    t = make_transport(Context(home=str(tmp_path), port=0, transport="neonize"), cfg, "+971505760056")
    try:
        assert t.store == dsn and t._is_postgres
    finally:
        t.close()


def test_a_store_error_never_shows_the_dsn_password():
    from transports.neonize.binding import describe_connect_error
    said = describe_connect_error("session store: failed to connect to "
                                  "postgres://wc:s3cr%40t@127.0.0.1:5432/whitecaves: connection refused")
    assert "s3cr" not in said and "postgres://wc:***@127.0.0.1:5432/whitecaves" in said
    assert said.startswith("the session store could not be opened")
    said = describe_connect_error("session store: host=db user=wc password=hunter2 dbname=wc: refused")
    assert "hunter2" not in said and "password=***" in said
