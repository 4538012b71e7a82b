"""One master's neonize connections, one at a time: start, run, stop.

How it sits on neonize (docs/architecture.md, "Facts about the parts"):

- One connection = one `NewClient` whose blocking `connect()` runs on a daemon
  thread of ours; `connect()` returns only once someone called Stop. Every
  handler is registered before it starts (transports/neonize/subscription.py).
- Each connection has a generation number, bumped whenever one is started or
  stopped: `emit` drops the events of a connection we stopped.
- One socket per account: a connection that reached Connected and did not stop
  when asked still holds it, and no new one starts beside it (`still_connected`).
- Nothing is retried here. A connect that fails at once (no network) becomes
  ConnectFailed; the runtime owns backoff. whatsmeow, inside neonize, does
  reconnect a dropped *established* connection by itself; the runtime then
  sees Disconnected followed by Connected.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from transports.base import TransportError
from transports.events import ConnectFailed, Connected, Disconnected, Event
from transports.neonize import binding, session_files
from transports.neonize.event_queue import EventQueue

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 3.0           # how long a stop waits for neonize to return


class Connections:
    """The running connection of one master (`client`, None when there is none).

    `subscribe(nz, client, gen)` registers the handlers of connection `gen` on a new client.
    """

    def __init__(self, phone: str, store: str, queue: EventQueue,
                 subscribe: Callable[[Any, Any, int], None], stop_timeout_s: float = STOP_TIMEOUT_S):
        self.phone = phone
        self.store = store
        self.stop_timeout_s = stop_timeout_s
        self._digits = phone[1:]
        self._queue = queue
        self._subscribe = subscribe
        self._lock = threading.Lock()
        self.generation = 0                  # bumped whenever a connection is started or stopped
        self.client: Any = None              # the running connection's NewClient
        self._thread: threading.Thread | None = None
        self.closed = False
        self._connected_thread: threading.Thread | None = None   # the connection that reached Connected
        self._lingering: threading.Thread | None = None          # that one, when it did not stop

    def emit(self, gen: int, event: Event) -> None:
        """Hand `event` of connection `gen` to the session, unless that one was stopped."""
        with self._lock:
            if gen != self.generation or self.closed:
                return   # from a connection we stopped, or after close()
            self._queue.put(event)

    def start(self, pairing: bool) -> None:
        """Start a connection that resumes the stored device (or, `pairing`, links a new one).
        Nothing happens while the current one is up or pairing."""
        if self.closed:
            raise TransportError("transport is closed", retryable=False)
        client = self.client if self.alive() else None
        if client is not None and client.is_connected:
            # Up, or pairing (QR codes keep coming): its events tell the rest. A restart
            # here would also leave a pairing's Go call blocked for good (see stop).
            if pairing and client.is_logged_in:
                self.emit(self.generation, Connected())   # already linked
            return
        if self.alive():
            self.stop()
        if self.still_connected():   # one socket per account: never start beside it
            self.emit(self.generation, ConnectFailed(
                reason="the previous WhatsApp connection has not stopped yet; trying again later"))
            return
        with self._lock:
            self.generation += 1
            gen = self.generation
            self._thread = threading.Thread(target=self._run, args=(gen, pairing), daemon=True,
                                            name=f"neonize-{self._digits}-{gen}")
            self._thread.start()

    def alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def note_connected(self, gen: int) -> None:
        """Connection `gen` reached Connected: it holds WhatsApp's socket."""
        if gen == self.generation:
            self._connected_thread = self._thread

    def stop(self) -> None:
        """Stop the running connection, if any, and wait (bounded) for its thread."""
        with self._lock:
            self.generation += 1     # from now on its events are dropped
            client, thread = self.client, self._thread
            self.client, self._thread = None, None
        if thread is None:
            return
        deadline = time.monotonic() + self.stop_timeout_s
        while thread.is_alive() and time.monotonic() < deadline:
            if client is not None:
                client.stop()     # repeated: the Go side may not have registered it yet
            thread.join(0.1)
        if client is not None:
            # Its finalizer would Stop() the uuid that the next client of this master uses.
            client._stop_finalizer.detach()
        if thread.is_alive() and self._connected_thread is thread:
            self._lingering = thread   # it held a socket to WhatsApp: start() waits for it
        if thread.is_alive():
            # Known for a stop during QR pairing: whatsmeow keeps goneonize's QR loop open.
            log.warning("neonize connect for %s did not return after stop; leaving its daemon "
                        "thread behind", self.phone)

    def stop_later(self, gen: int, why: str, then: Callable[[], None] | None = None) -> None:
        """Stop connection `gen`, if it is still the current one, then run `then`: on a
        thread of its own, as neonize's callback thread (which asks this) cannot wait for it."""
        def stop() -> None:
            if self.generation != gen:
                return
            self.stop()
            if then is not None:
                then()

        threading.Thread(target=stop, daemon=True, name=f"neonize-{why}-{self._digits}").start()

    def close(self) -> None:
        """Stop for good: start() refuses and no event is emitted any more."""
        self.closed = True
        self.stop()

    def still_connected(self) -> bool:
        """A connection that was up and did not stop when asked (its Go call still blocked)."""
        thread = self._lingering
        if thread is not None and not thread.is_alive():
            self._lingering = thread = None
        return thread is not None

    def _run(self, gen: int, pairing: bool) -> None:
        """The connection thread: choose the device, then block in neonize's connect()."""
        nz = binding.load()
        try:
            device = binding.stored_device(nz, self.store, self._digits)
        except Exception as exc:  # noqa: BLE001 - any store failure is reported, not raised
            self.emit(gen, ConnectFailed(reason=binding.describe_connect_error(str(exc))))
            return
        session_files.make_private(self.store)
        if device is None and not pairing:
            self.emit(gen, ConnectFailed(
                reason=f"not linked: no WhatsApp session stored for {self.phone}; link it first",
                permanent=True))
            return
        if device is not None:
            client = nz.NewClient(self.store, jid=device)
        else:
            client = nz.NewClient(self.store, uuid=self._digits, new_device=True)
        self._subscribe(nz, client, gen)
        with self._lock:
            if gen != self.generation:
                client._stop_finalizer.detach()
                return   # stopped while we were getting ready
            self.client = client
        try:
            client.connect()
        except Exception as exc:  # noqa: BLE001 - NeonizeError, or anything from the binding
            self.emit(gen, ConnectFailed(reason=binding.describe_connect_error(str(exc))))
            return
        # connect() returns only once someone called Stop: if that was not us, say so.
        self.emit(gen, Disconnected(reason="the neonize connection ended"))
