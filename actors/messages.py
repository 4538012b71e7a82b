"""The message vocabulary between the daemon's actors, and between the CLI and the daemon.

Plain classes: thespian pickles them between processes. A request that
expects an answer carries `ref`, a correlation id, because thespian's ask()
returns the first message from anyone, including a late answer to an
earlier request.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


def new_ref() -> str:
    return uuid.uuid4().hex[:12]


# --- CLI ↔ daemon -----------------------------------------------------------

@dataclass
class AdminRequest:
    """A command from `whitecaves` (or an admin chat command) for the daemon.

    `command` names a command of the registry (commands/registry.py), `args`
    its keyword arguments. `reply_to` is filled by the root when it forwards
    the request. The gateway passes a command that runs in the balancer on
    to it as an AdminRequest too.
    """
    command: str
    args: dict = field(default_factory=dict)
    ref: str = field(default_factory=new_ref)
    reply_to: Any = None
    chat_to: str = ""        # set by a chat command: answer this admin over WhatsApp instead
    chat_command: str = ""   # the chat command whose reply formatter shapes that answer


@dataclass
class AdminReply:
    ref: str
    ok: bool
    data: Any = None
    error: str = ""
    code: int = 0  # the CLI's exit status: 0 ok, 1 error, 2 usage


# --- master sessions ----------------------------------------------------------

@dataclass
class Heartbeat:
    """Session → HA monitor, every [health] heartbeat_s."""
    phone: str
    device_state: str
    pid: int
    ts: float


@dataclass
class DeviceStateChanged:
    """Session → HA monitor and balancer, on every device state change."""
    phone: str
    old: str
    new: str
    reason: str = ""
    ts: float = 0.0


@dataclass
class InboundMessage:
    """Session → balancer: a customer message, already de-duplicated and persisted."""
    master: str
    customer: str
    text: str
    message_id: str
    ts: float


@dataclass
class SendNow:
    """Balancer → session: send these outbox entries (ids), in order."""
    entry_ids: list[int]


@dataclass
class SendResult:
    """Session → balancer: what happened to each entry of a SendNow."""
    master: str
    sent: list[int] = field(default_factory=list)        # acknowledged and removed from the outbox
    failed: list[int] = field(default_factory=list)      # retry scheduled or dead-lettered
    deferred: list[int] = field(default_factory=list)    # rate limiter said not yet
    # replies the session claimed and sent itself (entry id, contact), for the master's rate
    # limiter; they are among `sent` or `failed` too
    claimed: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class ReplyBudget:
    """Balancer → session: how many replies it may have claimed and not yet finished, sending
    them itself without a SendNow (docs/balancer.md, "Replies from the receiving session");
    0 revokes it. The gaps are the balancer's limits ([limits] reply_gap_s and the master's
    floor), 0 when off."""
    size: int = 0
    reply_gap_s: float = 0.0
    min_gap_s: float = 0.0


@dataclass
class Link:
    """Gateway → session (through the balancer): pair this device (QR, or a phone code).

    Answered with AdminReply(ref) to `reply_to` once the pairing started."""
    code: bool = False
    relink: bool = False
    ref: str = ""
    reply_to: Any = None


@dataclass
class ToMaster:
    """Anyone → balancer: pass `msg` on to the session of `phone` (the balancer knows the sessions)."""
    phone: str
    msg: Any
    reply_to: Any = None
    ref: str = ""


@dataclass
class OutboxChanged:
    """Anyone → balancer: new entries are in the outbox; look."""
    reason: str = ""


# --- health ↔ balancer ↔ alerts ------------------------------------------------

@dataclass
class HealthChanged:
    """HA monitor → balancer: a master's health moved (healthy, degraded, failed, unknown).

    `failed` starts the balancer's failover of that master; back to `healthy` is a recovery."""
    phone: str
    old: str
    new: str
    reason: str = ""
    ts: float = 0.0


@dataclass
class MonitorStatus:
    """Gateway → HA monitor: its live view (heartbeat ages), answered with AdminReply(ref)."""
    ref: str


@dataclass
class Alert:
    """Anyone → HA monitor: something admins must hear about (docs/architecture.md, "Facts about the parts").

    The HA monitor de-duplicates, records it, and queues it to every admin."""
    level: str          # critical | warning | info
    kind: str           # master_failed, failover_started, failover_completed, all_masters_down, ...
    master: str | None
    text: str
    ts: float = 0.0
    subject: str | None = None   # what a daemon-wide alert is about (health/alerts.py, AlertGate)
