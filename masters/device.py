"""A master's device state machine (docs/architecture.md, "Device states"), as a pure function.

    unlinked → pairing → connecting → connected
    connected → disconnected   transient: reconnect with backoff
              → logged_out     dead until a relink
              → banned         dead until its expiry, then one reconnect
              → replaced       wait, then one careful retry
              → outdated       dead until the software is updated

Never reconnect in a loop on a dead state: that is how peers get stuck.
"""
from __future__ import annotations

from dataclasses import dataclass

from runtime.vocabulary import DEAD_DEVICE_STATES, DEVICE_STATES
from transports import events as ev

STATES = DEVICE_STATES
DEAD = DEAD_DEVICE_STATES
BAN_MARGIN_S = 1.0


@dataclass(frozen=True)
class Reaction:
    state: str
    reconnect_in: float | None = None  # seconds until the next connect attempt; None = don't
    reason: str = ""
    reset_attempts: bool = False
    used_replace_retry: bool = False


def react(state: str, event, *, now: float, attempts: int, replace_retry_used: bool,
          replaced_wait_s: float, backoff) -> Reaction:
    """What the session does about one transport event.

    `attempts` counts reconnects since the connection was last stable (the
    session resets it, Akka-style, after [backoff] reset_after_s connected:
    a stream that drops right after connecting keeps backing off);
    `backoff(n)` gives the delay before attempt n.
    """
    if isinstance(event, ev.Connected):
        return Reaction("connected")
    if isinstance(event, (ev.QRCode, ev.PairingCode)):
        return Reaction("pairing")
    if isinstance(event, ev.Paired):
        return Reaction("connecting")
    if isinstance(event, ev.LoggedOut):
        return Reaction("logged_out", reason=event.reason or "logged out")
    if isinstance(event, ev.Outdated):
        return Reaction("outdated", reason="client outdated")
    if isinstance(event, ev.Banned):
        wait = max(0.0, event.expires_ts - now) + BAN_MARGIN_S if event.expires_ts else None
        return Reaction("banned", reconnect_in=wait, reason=f"temporary ban (code {event.code})")
    if isinstance(event, ev.Replaced):
        if replace_retry_used:
            return Reaction("replaced", reason="stream replaced again; waiting for a relink")
        return Reaction("replaced", reconnect_in=replaced_wait_s, used_replace_retry=True,
                        reason="another device took the stream")
    if state == "pairing" and isinstance(event, (ev.ConnectFailed, ev.Disconnected)):
        # Pairing needs someone at the phone: a failed one ends, it is never retried alone.
        why = event.reason or "connection lost"
        return Reaction("unlinked", reason=why if why.startswith("pairing") else f"pairing failed: {why}")
    if isinstance(event, ev.ConnectFailed):
        if event.permanent:
            return Reaction("logged_out", reason=event.reason or "connect refused")
        if state in DEAD or state == "replaced":
            return Reaction(state, reason=event.reason)  # never loop on a dead state
        return Reaction("disconnected", reconnect_in=backoff(attempts), reason=event.reason)
    if isinstance(event, ev.Disconnected):
        if state in DEAD or state in ("replaced", "unlinked"):
            return Reaction(state, reason=event.reason)
        return Reaction("disconnected", reconnect_in=backoff(attempts), reason=event.reason)
    return Reaction(state)


def forgiven(state: str, event, *, stable_for: float, reset_after_s: float,
             replace_forgiven_s: float) -> tuple[bool, bool]:
    """What a long enough stable connection wipes before `event` is handled:
    (reset the reconnect attempts, give a replace its one retry again).

    Akka-style: the backoff starts afresh only after `reset_after_s` connected,
    so a stream that drops right after connecting keeps backing off; a replace
    long after the last one is a new episode, not the same device fighting us.
    """
    reset_attempts = state == "connected" and stable_for >= reset_after_s
    new_replace = isinstance(event, ev.Replaced) and stable_for >= replace_forgiven_s
    return reset_attempts, new_replace
