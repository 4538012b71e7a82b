"""Starting and reaching a thespian actor system safely.

Two thespian behaviours shape this module (ARCHITECTURE.md §7):
- every socket binds all interfaces and unpickles what arrives, so we patch
  the bind address to loopback (or `--bind ADDR`) before anything forks;
- asking for a system on a port where nothing listens silently starts a new,
  empty daemon, so callers that only want to *reach* one probe first.
"""
from __future__ import annotations

import os
import socket

from runtime.procs import MARK_ENV

SYSTEM_BASE = "multiprocTCPBase"
_bind_addr: str | None = None


def bind_to(addr: str) -> None:
    """Make every thespian socket of this process, and of every process it
    forks afterwards, listen on `addr` instead of all interfaces."""
    global _bind_addr
    from thespian.system.transport import IPBase

    os.environ["THESPIAN_BASE_IPADDR"] = addr  # the address thespian advertises
    if _bind_addr is None:
        original = IPBase.IPActorAddress.__init__

        def __init__(self, *args, **kwargs):
            original(self, *args, **kwargs)
            if self.bindname and self.bindname[0] in ("", "0.0.0.0"):
                self.bindname = (_bind_addr,) + tuple(self.bindname[1:])

        IPBase.IPActorAddress.__init__ = __init__
    _bind_addr = addr


def capabilities(port: int) -> dict:
    return {"Admin Port": port}


def port_listening(port: int, addr: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on addr:port."""
    try:
        with socket.create_connection((addr, port), timeout=timeout):
            return True
    except OSError:
        return False


def start(home: str, port: int, bind: str = "127.0.0.1", log_defs: dict | None = None):
    """Start a new actor system whose processes are all marked with `home`."""
    from thespian.actors import ActorSystem

    bind_to(bind)
    previous = os.environ.get(MARK_ENV)
    os.environ[MARK_ENV] = os.path.abspath(home)
    try:
        return ActorSystem(SYSTEM_BASE, capabilities(port), logDefs=log_defs,
                           transientUnique=True)
    finally:
        if previous is None:
            os.environ.pop(MARK_ENV, None)
        else:
            os.environ[MARK_ENV] = previous


def connect(port: int, bind: str = "127.0.0.1"):
    """Reach the running system on `port`, or None when nothing listens there."""
    from thespian.actors import ActorSystem

    if not port_listening(port, bind if bind not in ("", "0.0.0.0") else "127.0.0.1"):
        return None
    bind_to(bind)
    return ActorSystem(SYSTEM_BASE, capabilities(port), transientUnique=True)
