"""The demo's customers and its bookkeeping, on the simulated network.

Each customer writes `!ping <token>` to the master it is talking to, every
few seconds; the daemon answers `pong <token>`. A customer talks to whoever
wrote to it last — after a failover that is the sibling that sent the
hand-over note, as a person would answer the newest message. The tally
turns what was sent and what came back into the summary: sent, answered,
lost, duplicated.
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Tally:
    """What the customers sent and received. Pure: no network, no clock."""
    sent: dict[str, str] = field(default_factory=dict)      # token → customer
    pongs: dict[str, int] = field(default_factory=dict)     # token → pongs received
    notes: int = 0                                           # other messages (hand-over notes, welcomes)
    seen: set[str] = field(default_factory=set)              # message ids already counted

    def on_sent(self, token: str, customer: str) -> None:
        self.sent[token] = customer

    def on_received(self, customer: str, message: dict) -> None:
        if message["id"] in self.seen:
            return
        self.seen.add(message["id"])
        words = message["text"].split()
        if len(words) == 2 and words[0] == "pong" and self.sent.get(words[1]) == customer:
            self.pongs[words[1]] = self.pongs.get(words[1], 0) + 1
        else:
            self.notes += 1

    def summary(self) -> dict:
        answered = sum(1 for t in self.sent if self.pongs.get(t))
        return {"sent": len(self.sent), "answered": answered, "lost": len(self.sent) - answered,
                "duplicated": sum(n - 1 for n in self.pongs.values() if n > 1)}


def customer_phones(n: int) -> list[str]:
    """Customers from a few countries (UK, UAE, India, Germany), valid E.164."""
    prefixes = ("+4477009", "+9715280", "+9198765", "+4915123")
    return [f"{prefixes[i % len(prefixes)]}{10000 + i:05d}" for i in range(n)]


def master_phones(n: int) -> list[str]:
    return [f"+9715057600{i + 10:02d}" for i in range(n)]


class Customers:
    """Customer traffic on a thread: send, poll inboxes, follow the newest sender."""

    def __init__(self, client_factory, customers: list[str], masters: list[str],
                 every_s: float = 3.0, seed: int = 7):
        self.client_factory = client_factory   # () -> transports.sim.control.ControlClient
        self.customers = customers
        self.talking_to = {c: masters[i % len(masters)] for i, c in enumerate(customers)}
        self.every_s = every_s
        self.tally = Tally()
        self.lock = threading.Lock()
        self.sending = threading.Event()
        self.stopped = threading.Event()
        self.errors: list[str] = []
        self._rng = random.Random(seed)
        self._thread = threading.Thread(target=self._run, name="demo-customers", daemon=True)

    def start(self) -> None:
        self.sending.set()
        self._thread.start()

    def stop_sending(self) -> None:
        self.sending.clear()

    def stop(self) -> None:
        self.stopped.set()
        self._thread.join(10)

    def summary(self) -> dict:
        with self.lock:
            return self.tally.summary()

    def _run(self) -> None:
        client = self.client_factory()
        due = {c: time.monotonic() + self._rng.uniform(0, self.every_s) for c in self.customers}
        counter = 0
        last_poll = 0.0
        try:
            while not self.stopped.is_set():
                now = time.monotonic()
                if self.sending.is_set():
                    for c in self.customers:
                        if due[c] <= now:
                            counter += 1
                            token = f"t{counter}"
                            if self._try(client.send, c, self.talking_to[c], f"!ping {token}"):
                                with self.lock:
                                    self.tally.on_sent(token, c)
                            due[c] = now + self.every_s * self._rng.uniform(0.7, 1.3)
                if now - last_poll >= 0.5:
                    self._poll(client)
                    last_poll = now
                time.sleep(0.05)
            self._poll(client)
        finally:
            client.close()

    def _poll(self, client) -> None:
        for c in self.customers:
            inbox = self._try(client.inbox, c) or []
            with self.lock:
                for message in inbox:
                    self.tally.on_received(c, message)
            if inbox:
                self.talking_to[c] = inbox[-1]["from"]

    def _try(self, fn, *args):
        try:
            return fn(*args)
        except Exception as e:  # the network is the thing being broken here: note it, go on
            self.errors.append(f"{fn.__name__}: {e}")
            return None


# --- issue 14: a photo, a voice note, and a master back after a long disconnect ------------------

MEDIA_CUSTOMER = "+447700900555"                        # sends a photo and a voice note
NIGHT_CUSTOMERS = ("+447700900556", "+447700900557")    # wrote while a master was away
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40   # stand-in JPEG bytes


def send_media(client, master: str) -> None:
    """A customer sends a unit photo with a caption, then a 14-second voice note."""
    from transports.sim.compose import voice_note
    client.send(MEDIA_CUSTOMER, master, "the view from the unit",
                kind="image", data=PHOTO, mime="image/jpeg", file_name="unit.jpg")
    client.send(MEDIA_CUSTOMER, master, "", **voice_note(14))


def send_night_backlog(client, master: str) -> int:
    """Messages written hours ago to a master that is away: its backlog when it comes back
    (stored, not answered automatically, one summary alert). Returns how many."""
    texts = [(NIGHT_CUSTOMERS[0], "Is the Marina flat still available?", 8 * 3600),
             (NIGHT_CUSTOMERS[0], "!ping", 7 * 3600),
             (NIGHT_CUSTOMERS[1], "Can I view it tomorrow?", 2 * 3600)]
    for customer, text, ago in texts:
        client.send(customer, master, text, ago=ago)
    return len(texts)
