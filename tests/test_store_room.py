"""actors/store_room.py without an actor system: what an actor holds while the disk is full."""
from __future__ import annotations

import pytest

from actors import store_room
from actors.store_room import StoreRoom
from storage.faults import StoreFull


class FakeStore:
    """Runs each write's fn on a list; refuses them all while `full`."""

    def __init__(self):
        self.full, self.log = False, []

    def write(self, fn):
        if self.full:
            raise StoreFull("the disk of /x is full (0 bytes free): nothing of this change was written")
        return fn(self.log)


class Actor(StoreRoom):
    child_id = "balancer"

    def __init__(self):
        self.store, self.peers, self.sent, self.timers = FakeStore(), {"ha-monitor": "M"}, [], []

    def send(self, to, msg):
        self.sent.append((to, msg.level, msg.kind))

    def after(self, seconds, name, payload=None):
        self.timers.append((seconds, name))

    def timer_pending(self, name):
        return any(n == name for _, n in self.timers)

    def fire(self, then=None):
        self.timers.clear()
        return self.on_store_room(then)


def test_writes_are_made_at_once_while_there_is_room():
    a = Actor()
    assert a.held_write(lambda log: log.append("x") or 7) == 7
    assert a.store.log == ["x"] and a.timers == [] and a.sent == []


def test_a_full_disk_holds_writes_in_order_says_it_once_and_writes_them_with_room():
    a = Actor()
    a.store.full = True
    for word in ("a", "b", "c"):
        assert a.held_write(lambda log, w=word: log.append(w)) is None
    assert a.store.log == []
    assert a.sent == [("M", "critical", "store_full")]              # once, not three times
    assert a.timers == [(store_room.RETRY_S, store_room.TIMER)]     # one retry timer
    assert a.fire() is False                                         # still full: tried again later
    assert a.timers == [(store_room.RETRY_S, store_room.TIMER)] and len(a.sent) == 1
    a.store.full = False
    assert a.fire() is True
    assert a.store.log == ["a", "b", "c"]
    assert a.sent[-1] == ("M", "info", "store_room_again")


def test_a_state_saved_whole_keeps_only_its_latest_held_save_but_order_with_others():
    a = Actor()
    a.store.full = True
    a.held_write(lambda log: log.append("state 1"), key="state")
    a.held_write(lambda log: log.append("event"))
    a.held_write(lambda log: log.append("state 2"), key="state")
    a.store.full = False
    a.fire()
    assert a.store.log == ["event", "state 2"]


def test_new_writes_queue_behind_held_ones_even_with_room():
    """Room may return between two tries: a new write must not overtake an older held one."""
    a = Actor()
    a.store.full = True
    a.held_write(lambda log: log.append("old"))
    a.store.full = False
    assert a.held_write(lambda log: log.append("new")) is None
    assert a.store.log == []
    a.fire()
    assert a.store.log == ["old", "new"]


def test_the_actors_own_held_work_runs_after_the_writes_and_must_finish_for_room_again():
    a = Actor()
    a.store.full = True
    a.held_write(lambda log: log.append("w"))
    a.store.full = False
    pending = [True]
    assert a.fire(then=lambda: not pending.pop()) is False   # its own work not done: still held
    assert ("M", "info", "store_room_again") not in a.sent
    assert a.fire(then=lambda: True) is True
    assert a.sent[-1] == ("M", "info", "store_room_again")


def test_beyond_the_cap_the_oldest_held_write_goes(monkeypatch):
    monkeypatch.setattr(store_room, "HELD_MAX", 3)
    a = Actor()
    a.store.full = True
    for i in range(5):
        a.held_write(lambda log, i=i: log.append(i))
    a.store.full = False
    a.fire()
    assert a.store.log == [2, 3, 4]


class Raising:
    """Stands for SupervisedActor._dispatch: the message's handler raises `error`."""
    error: Exception

    def _dispatch(self, msg, sender):
        raise self.error


class Shell(Actor, Raising):   # as a shell: StoreRoom before the base class
    pass


def test_a_write_not_held_ends_its_message_not_the_actor():
    shell = Shell()
    shell.error = StoreFull("full")
    shell._dispatch("a message", None)      # did not raise
    assert shell.sent == [("M", "critical", "store_full")]
    assert shell.timers == [(store_room.RETRY_S, store_room.TIMER)]
    shell.error = ZeroDivisionError()
    with pytest.raises(ZeroDivisionError):   # any other error still ends it, for its supervisor
        shell._dispatch("a message", None)
