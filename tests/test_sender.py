"""The send worker (transports/sender.py) and the send outcome classes (balancing/outcomes.py)."""
import select
import threading
import time

from balancing.outcomes import DELIVERED, FINAL, TRANSIENT, classify, retry_delay
from transports.base import TransportError
from transports.sender import Worker


def wait_readable(fd: int, timeout: float) -> bool:
    return bool(select.select([fd], [], [], timeout)[0])


def test_a_blocked_call_does_not_block_the_caller_and_reports_back_through_the_fileno():
    release = threading.Event()
    w = Worker("test")
    try:
        started = time.monotonic()
        assert w.submit("send", 1, lambda: release.wait(5) and "MSG1")
        assert time.monotonic() - started < 0.1          # the caller is free at once
        assert not wait_readable(w.fileno(), 0.2) and w.poll() == []
        assert w.pending("send", 1) and not w.submit("send", 1, lambda: "again")  # no repeat
        release.set()
        assert wait_readable(w.fileno(), 2)
        [done] = w.poll()
        assert (done.job, done.ref, done.result, done.error) == ("send", 1, "MSG1", None)
        assert not w.pending("send", 1) and not wait_readable(w.fileno(), 0)
    finally:
        w.close(1)


def test_jobs_run_in_order_and_errors_come_back_as_outcomes():
    w = Worker("test")
    try:
        order = []
        w.submit("send", 1, lambda: order.append(1))
        w.submit("send", 2, lambda: (_ for _ in ()).throw(TransportError("down")))
        w.submit("send", 3, lambda: order.append(3))
        got = []
        deadline = time.monotonic() + 5
        while len(got) < 3 and time.monotonic() < deadline:
            wait_readable(w.fileno(), 0.5)
            got += w.poll()
        assert [d.ref for d in got] == [1, 2, 3] and order == [1, 3]
        assert isinstance(got[1].error, TransportError) and str(got[1].error) == "down"
    finally:
        w.close(1)


def test_close_is_bounded_when_a_call_never_returns():
    w = Worker("test")
    w.submit("close", None, lambda: time.sleep(30))
    time.sleep(0.05)
    started = time.monotonic()
    assert w.close(0.2) is False and time.monotonic() - started < 1
    assert not w.submit("send", 1, lambda: None)   # closed: takes nothing more


def test_outcome_classes():
    assert classify(None).kind == DELIVERED
    assert classify(TransportError("timeout")).kind == TRANSIENT
    assert classify(RuntimeError("a transport bug")).kind == TRANSIENT    # never lose the entry
    final = classify(TransportError("no LID found", retryable=False, reason="not_on_whatsapp"))
    assert (final.kind, final.reason) == (FINAL, "not_on_whatsapp")
    assert final.error == "not_on_whatsapp: no LID found"
    assert classify(TransportError("bad", retryable=False)).reason == "invalid"
    assert [retry_delay(n, 1.0, 5.0) for n in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
