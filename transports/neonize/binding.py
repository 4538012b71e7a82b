"""The thin layer over neonize itself: importing it late and once, reading its
session store, and turning its error strings into messages an operator can act on.

Kept apart from transport.py so the adapter reads as the Transport protocol.
"""
from __future__ import annotations

import logging
import re
import threading
import types
from typing import Any

log = logging.getLogger(__name__)

# Fragments of goneonize/whatsmeow error strings.
_STORE_ERRORS = ("database", "session store", "sql")
_NETWORK_ERRORS = ("dial", "websocket", "lookup", "proxyconnect", "connection refused",
                   "unreachable", "i/o timeout", "no such host", "tls", "eof")
_CALL_ERRORS = (   # measured: what goneonize 0.5.2 answers when a send cannot go out
    ("client is nil", "not connected to WhatsApp (no active connection)"),
    ("websocket not connected", "not connected to WhatsApp (the connection is down)"),
    ("doesn't contain a device JID", "this master is not linked to WhatsApp (pair it first)"),
)

_NZ: Any = None
_DSN_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")       # URL form
_KV_PASSWORD = re.compile(r"(password=)('[^']*'|\S+)", re.I)  # key=value form


def load() -> Any:
    """Import neonize the first time a transport needs it, in the process that uses it.

    Importing neonize loads its Go library and starts the Go runtime: never do this
    before thespian forks (docs/architecture.md, "Facts about the parts").
    """
    global _NZ
    if _NZ is None:
        import neonize.client as nz_client
        from neonize import events
        from neonize._binder import func_callback_bytes2, gocode
        from neonize.proto.Neonize_pb2 import JID
        from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message
        from neonize.utils.jid import build_jid
        from neonize.utils.log import log_whatsmeow

        # neonize runs its Go connect on a non-daemon thread. A stop during QR pairing
        # leaves that call blocked for good (whatsmeow keeps goneonize's QR loop open),
        # and a blocked non-daemon thread keeps the process from ever exiting.
        def daemon_thread(*args, **kwargs):
            kwargs["daemon"] = True
            return threading.Thread(*args, **kwargs)

        nz_client.Thread = daemon_thread
        _NZ = types.SimpleNamespace(NewClient=nz_client.NewClient, events=events, gocode=gocode,
                                    func_callback_bytes2=func_callback_bytes2, JID=JID,
                                    Message=Message, build_jid=build_jid,
                                    log_whatsmeow=log_whatsmeow)
    return _NZ


def stored_device(nz: Any, store: str, digits: str) -> Any:
    """The JID of the device stored for this number, or None. Raises on a store error.

    Matching by number (not "the first device", neonize's default) keeps masters apart
    in a shared Postgres store and never resumes a device linked with another phone.
    """
    log_cb = nz.func_callback_bytes2(nz.log_whatsmeow)
    # neonize's ClientFactory.get_all_devices_from_db breaks on a ',' in a push name and
    # on errors, so read goneonize's raw "jid,push,business,init|\x01|…" list ourselves.
    raw = nz.gocode.GetAllDevices(store.encode(), log_cb).decode()
    if raw.startswith("error: "):
        raise RuntimeError(f"session store: {raw[len('error: '):]}")
    found = [parse_jid(nz.JID, entry.split(",", 1)[0]) for entry in raw.split("|\x01|") if entry]
    mine = [jid for jid in found if jid.User == digits]
    if len(mine) > 1:
        log.warning("%d sessions stored for +%s; using the first", len(mine), digits)
    return mine[0] if mine else None


def parse_jid(jid_type: Any, text: str) -> Any:
    """'971501234567:12@s.whatsapp.net' → JID(User='971501234567', Device=12, Server=…)."""
    user, _, server = text.rpartition("@")
    user, _, device = user.partition(":")
    user = user.split(".", 1)[0]   # drop an agent suffix
    return jid_type(User=user, Device=int(device or 0), Server=server, RawAgent=0, Integrator=0,
                    IsEmpty=False)


def describe_connect_error(message: str) -> str:
    """A failed connect, said so an operator knows what to do (a DSN's password hidden)."""
    message = redact(message)
    low = message.lower()
    if any(fragment in low for fragment in _STORE_ERRORS):
        return f"the session store could not be opened: {message}"
    if any(fragment in low for fragment in _NETWORK_ERRORS):
        return f"WhatsApp could not be reached ({message}); check the network or proxy"
    return f"connecting to WhatsApp failed: {message}"


def redact(text: str) -> str:
    """'postgres://wc:secret@db/x' → 'postgres://wc:***@db/x': errors end up in logs."""
    return _KV_PASSWORD.sub(r"\1***", _DSN_PASSWORD.sub(r"\1***@", text))


def describe_call_error(message: str) -> str:
    """A failed send/logout/pairing-code call, with goneonize's words kept in brackets."""
    for fragment, meaning in _CALL_ERRORS:
        if fragment in message:
            return f"{meaning} [{message}]"
    return message
