"""The CLI's request plumbing without an actor system: correlation ids and the pid file."""
from dataclasses import dataclass

import pytest

from daemon import client as daemon


@dataclass
class Reply:
    ref: str


class FakeSystem:
    """ask() answers with whatever came first, as thespian's does; listen() the next ones."""

    def __init__(self, *replies):
        self.replies = list(replies)

    def ask(self, target, msg, timeout):
        return self.listen(timeout)

    def listen(self, timeout):
        return self.replies.pop(0) if self.replies else None


def test_ask_skips_late_replies_to_earlier_requests():
    asys = FakeSystem(Reply("old-1"), Reply("old-2"), Reply("mine"))
    assert daemon.ask(asys, None, Reply("mine"), timeout=1).ref == "mine"


def test_ask_gives_up_when_only_other_replies_come():
    assert daemon.ask(FakeSystem(Reply("old")), None, Reply("mine"), timeout=1) is None


def test_without_a_pid_file_nothing_is_running_and_nothing_is_contacted(tmp_path, monkeypatch):
    from daemon import system
    monkeypatch.setattr(system, "connect", lambda *a: pytest.fail("must not reach for a system"))
    where = daemon.Where(home=str(tmp_path), port=21999)
    with pytest.raises(daemon.NotRunning) as e:
        daemon.connect(where)
    assert e.value.code == 3 and str(e.value) == f"no daemon is running for {tmp_path} on port 21999"
    # a pid file whose Admin is gone (or is some other process) counts as no daemon too
    daemon.write_pid_file(where, {"pid": 1, "port": 21999})
    with pytest.raises(daemon.NotRunning):
        daemon.connect(where)
