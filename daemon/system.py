"""Starting and reaching a thespian actor system safely.

Two thespian behaviours shape this module (docs/architecture.md, "Facts about the parts"):
- every socket binds all interfaces and unpickles what arrives, so we patch
  the bind address to loopback (or `--bind ADDR`) before anything forks;
- asking for a system on a port where nothing listens silently starts a new,
  empty daemon, so callers that only want to *reach* one probe first.
"""
from __future__ import annotations

import contextlib
import os
import socket
import sys

from runtime import procs, wire

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


def start(home: str, port: int, bind: str = "127.0.0.1", log_defs: dict | None = None,
          output: str | None = None):
    """Start a new actor system whose processes are all marked with `home`.

    `output`: a file that takes the system's stdin/stdout/stderr (a daemon must
    not hold the terminal or the pipe of the CLI that started it: whoever reads
    that pipe would wait for the daemon to end). None = inherit ours."""
    from thespian.actors import ActorSystem
    from supervision import hooks

    bind_to(bind)
    hooks.on_child_init(_name_process)  # inherited by every actor process forked from here
    wire.install(wire.load_or_create_key(home))  # before the fork: the Admin and every actor inherit it
    with procs.marked(home), _detached(output):
        return ActorSystem(SYSTEM_BASE, capabilities(port), logDefs=log_defs,
                           transientUnique=True)


def _name_process(child_id: str) -> None:
    """Every stdlib log record of a supervised actor names it (the supervision library's too)."""
    from runtime import logs
    logs.name_process(actor=child_id)


@contextlib.contextmanager
def _detached(output: str | None):
    """While thespian forks the Admin (and its logger): fds 0-2 on /dev/null and `output`."""
    if output is None:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(fd) for fd in (0, 1, 2)]
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    _close_after_fork.update(saved + [null, out])  # else the Admin inherits our terminal/pipe anyway
    try:
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        yield
    finally:
        for fd, copy in zip((0, 1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)
        os.close(null)
        os.close(out)
        _close_after_fork.difference_update(saved + [null, out])


_close_after_fork: set[int] = set()


def _close_in_child() -> None:
    for fd in _close_after_fork:
        try:
            os.close(fd)
        except OSError:
            pass
    _close_after_fork.clear()


os.register_at_fork(after_in_child=_close_in_child)


def connect(port: int, bind: str = "127.0.0.1"):
    """Reach the running system on `port`, or None when nothing listens there."""
    from thespian.actors import ActorSystem

    if not port_listening(port, bind if bind not in ("", "0.0.0.0") else "127.0.0.1"):
        return None
    bind_to(bind)
    return ActorSystem(SYSTEM_BASE, capabilities(port), transientUnique=True)
