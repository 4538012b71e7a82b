"""Plain thespian actors for bench/outbox.py's baseline: one actor→actor hop, windowed.

Importable (thespian loads actor classes by module path in its forked processes).
The Driver sends `n` small messages to the Sink, at most `window` unacknowledged
(the same bound the balancer uses towards sessions); the Sink acknowledges each
full window, and the Driver answers the outside asker when the last ack arrives.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from thespian.actors import Actor


@dataclass
class Run:
    sink: object
    n: int
    window: int


@dataclass
class Item:
    i: int
    window: int
    last: bool = False


@dataclass
class Ack:
    upto: int


@dataclass
class Done:
    n: int
    seconds: float


class Sink(Actor):
    def receiveMessage(self, msg, sender):
        if isinstance(msg, Item) and ((msg.i + 1) % msg.window == 0 or msg.last):
            self.send(sender, Ack(msg.i + 1))


class Driver(Actor):
    def receiveMessage(self, msg, sender):
        if isinstance(msg, Run):
            self.run, self.asker, self.sent, self.t0 = msg, sender, 0, time.perf_counter()
            self._more(msg.window * 2)
        elif isinstance(msg, Ack):
            if msg.upto >= self.run.n:
                self.send(self.asker, Done(self.run.n, time.perf_counter() - self.t0))
            else:
                self._more(self.run.window)

    def _more(self, count: int) -> None:
        for _ in range(min(count, self.run.n - self.sent)):
            self.send(self.run.sink, Item(self.sent, self.run.window, self.sent == self.run.n - 1))
            self.sent += 1
