"""The offline backlog: what arrived while a master was away is stored, not answered (issue 14).

A message is backlog when, as it reaches the session,
- it is older than `[session] backlog_max_age_s` (default 600 s), or
- it came inside WhatsApp's offline sync (`Inbound.offline`) AND is older than
  OFFLINE_BLIP_S.

Why the second threshold: the sim (like WhatsApp) also marks as offline a
message redelivered after the session crashed before acknowledging it. One
already handled is dropped by the dedupe; one never handled, held a few seconds
by the crash or by a short network blip, is a customer waiting right now and is
answered normally. Only what waited longer than a minute is a backlog.

Backlog is stored in its conversation and marks the conversation waiting for a
person; it is never auto-answered and a command in it never runs (yesterday's
`!handover` must not fire when the master comes back). The admins get one
summary per reconnect: BacklogTally collects what the session handled and says
when to send it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

OFFLINE_BLIP_S = 60.0


def is_backlog(timestamp: float, offline: bool, now: float, max_age_s: float) -> bool:
    age = now - timestamp
    return age > max_age_s or (offline and age > OFFLINE_BLIP_S)


def summary(master: str, messages: int, customers: int) -> str:
    return (f"{messages} message{'s' if messages != 1 else ''} from {customers} "
            f"customer{'s' if customers != 1 else ''} arrived while {master} was offline; "
            f"not answered automatically: see `whitecaves conversations --waiting`")


@dataclass
class BacklogTally:
    """Backlog seen since the last summary; the summary goes out when the sync window ends
    (OfflineSyncCompleted), or at the end of a poll when no window is open."""
    in_sync: bool = False
    messages: int = 0
    customers: set[str] = field(default_factory=set)

    def add(self, customer: str) -> None:
        self.messages += 1
        self.customers.add(customer)

    def sync_started(self) -> None:
        self.in_sync = True

    def sync_completed(self, master: str) -> str | None:
        self.in_sync = False
        return self.flush(master)

    def flush(self, master: str) -> str | None:
        """The summary text if there is one to send now (and the tally starts over)."""
        if self.in_sync or not self.messages:
            return None
        text = summary(master, self.messages, len(self.customers))
        self.messages, self.customers = 0, set()
        return text
