"""When the session steps in after a dropped connection (issue 15).

whatsmeow (inside neonize) redials a dropped established connection by itself
(EnableAutoReconnect, docs/architecture.md "Facts about the parts"). A session
that also reconnects at once would stop whatsmeow's attempt and build a new
client: two attempts racing for one account. So after a Disconnected the
transport marks `redialing`, the session first waits `[session]
reconnect_grace_s` for the library's own Connected, and steps in (one connect,
on its control worker) only when none came. The transport itself starts no new
connection while the previous one has not stopped (transports/neonize/connection.py),
so there are never two sockets for one account.
"""
from __future__ import annotations

from transports import events as ev


def step_in_after(event, backoff_s: float, grace_s: float) -> float:
    """Seconds until the session's own reconnect, after `event` asked for one in `backoff_s`."""
    if isinstance(event, ev.Disconnected) and event.redialing:
        return max(backoff_s, grace_s)
    return backoff_s
