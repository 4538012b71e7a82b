"""What NeonizeTransport adds to the pure mapping for inbound messages.

- The offline sync window: between OfflineSyncPreview and OfflineSyncCompleted
  (or the end of that connection) every message is marked `offline`.
- Our own sends: a message from this account whose id this device sent is not a
  person typing on the phone. whatsmeow does not echo our sends back, but a
  resync could, so the ids of recent sends are kept and such echoes dropped.
- LID → phone: looked up in neonize's store (client.get_pn_from_lid) while mapping.
- Media: `fetch()` downloads through the client that received the message
  (client.download_any), bounded by a timeout, on the caller's thread.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

from transports.events import Disconnected, Event, OfflineSyncCompleted, OfflineSyncStarted
from transports.neonize import binding
from transports.neonize.calls import call_with_timeout
from transports.neonize.jids import phone_of_jid
from transports.neonize.mapping import to_domain

log = logging.getLogger(__name__)

SENT_IDS_KEPT = 10_000
DOWNLOAD_TIMEOUT_S = 120.0


class InboundMapper:
    def __init__(self, download_timeout_s: float = DOWNLOAD_TIMEOUT_S):
        self.download_timeout_s = download_timeout_s
        self._lock = threading.Lock()
        self._sent: set[str] = set()
        self._sent_order: deque[str] = deque()
        self._offline_gen = -1   # the connection whose offline sync is running

    def note_sent(self, message_id: str) -> None:
        with self._lock:
            if message_id in self._sent:
                return
            self._sent.add(message_id)
            self._sent_order.append(message_id)
            if len(self._sent_order) > SENT_IDS_KEPT:
                self._sent.discard(self._sent_order.popleft())

    def map(self, gen: int, message: Any, client: Any) -> Event | None:
        """The domain event for one neonize event of connection `gen`, or None."""
        event = to_domain(message, download=lambda body: self.download(client, body),
                          resolve_lid=lambda lid: phone_for_lid(client, lid),
                          offline=self._offline_gen == gen)
        if isinstance(event, OfflineSyncStarted):
            self._offline_gen = gen
        elif isinstance(event, (OfflineSyncCompleted, Disconnected)) and self._offline_gen == gen:
            self._offline_gen = -1
        if getattr(event, "from_me", False):
            with self._lock:
                if event.message_id in self._sent:
                    return None   # our own send, echoed: not a person on the phone
        return event

    def download(self, client: Any, body: Any) -> bytes:
        """The media bytes of an E2E message; TransportError when it fails or takes too long."""
        return call_with_timeout(lambda: client.download_any(body), self.download_timeout_s,
                                 "media download")


def phone_for_lid(client: Any, lid: str) -> str:
    """'+E164' that neonize's store has for '…@lid', or '' when it has none."""
    if client is None or not lid.endswith("@lid"):
        return ""
    nz = binding.load()
    jid = client.get_pn_from_lid(binding.parse_jid(nz.JID, lid))
    return phone_of_jid(jid)

