"""The neonize events a connection subscribes to, and the callbacks they reach.

goneonize only delivers the event types subscribed when `connect()` starts, so
every handler is registered on a new client before that. The callbacks run on
neonize's own thread: they must only map and enqueue (transports/neonize/transport.py).
Which event becomes which domain event: transports/neonize/mapping.py.
"""
from __future__ import annotations

import ctypes
from typing import Any, Callable

# The event types we subscribe to (QR codes come through their own callback).
EVENT_NAMES = ("ConnectedEv", "DisconnectedEv", "KeepAliveTimeoutEv", "KeepAliveRestoredEv",
               "LoggedOutEv", "StreamReplacedEv", "TemporaryBanEv", "ClientOutdatedEv",
               "ConnectFailureEv", "StreamErrorEv", "PairStatusEv", "MessageEv", "ReceiptEv",
               "OfflineSyncPreviewEv", "OfflineSyncCompletedEv", "UndecryptableMessageEv")


def subscribe(nz: Any, client: Any, on_event: Callable[[Any], None],
              on_qr: Callable[[str], None], on_login_status: Callable[[str], None]) -> None:
    """Send `client`'s events to `on_event(protobuf)`, its QR codes to `on_qr(text)` and
    its login status to `on_login_status(text)`."""
    def event(_client, message) -> None:
        on_event(message)

    def qr(_client, data: bytes) -> None:
        on_qr(data.decode(errors="replace"))

    def login_status(_uuid, status) -> None:
        # neonize only print()s these; "timeout" is how its QR pairing ends unlinked.
        on_login_status(ctypes.string_at(status).decode() if status else "")

    for name in EVENT_NAMES:
        client.event(getattr(nz.events, name))(event)
    client.event.qr(qr)
    client._NewClient__onLoginStatus = login_status  # name-mangled; bound at connect()
