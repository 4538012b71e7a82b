"""A monitor that was itself stalled does not judge others by the gap it slept through
(issue 13, fault 2), while a session that really hangs is still found: health/book.py's
`stalled` and health/policy.py's `excuse`, without an actor system."""
from health.book import HealthBook, Restart
from health.policy import FAILED, HEALTHY, HealthPolicy, HealthTracker

A, B = "+971505760056", "+971553633595"
POLICY = HealthPolicy(heartbeat_s=1.0, grace_s=0.25, failed_after=3)
TICK = 0.05


def running_book(now=0.0):
    book = HealthBook(POLICY)
    book.sync([A, B], now)
    for phone in (A, B):
        book.heartbeat(phone, "connected", 100, now)
    return book


def ticks(book, start, end, beating=()):
    """The monitor looking every TICK from start to end (the masters in `beating` heartbeat
    every 0.5 s meanwhile); every transition seen."""
    out, now = [], start
    while now <= end:
        if round(now * 2, 6) == int(now * 2):
            for phone in beating:
                out += book.heartbeat(phone, "connected", 100, now)[0]
        book.stalled(now, TICK)
        out += book.tick(now)
        now = round(now + TICK, 6)
    return out


def test_a_20_s_stall_of_the_monitor_fails_nobody_and_restarts_nobody():
    book = running_book()
    assert ticks(book, 0.0, 0.5) == []
    # stopped at 0.5, continued at 20.5: its next look is 20 s late
    assert book.stalled(20.5, TICK) > 19.9
    assert book.tick(20.5) == []
    assert book.recoveries(20.5) == []
    assert book.health() == {A: HEALTHY, B: HEALTHY}
    # the heartbeats queued meanwhile are read now: still healthy, and the excuse is used up
    for phone in (A, B):
        assert book.heartbeat(phone, "connected", 100, 20.6) == ([], False)
    assert book.trackers[A].excused_s == 0.0


def test_without_the_rule_the_same_gap_would_fail_everyone():
    """What the monitor did before (issue 13): judge by the raw gap."""
    book = running_book()
    assert {t.new for t in book.tick(20.5)} == {FAILED}


def test_a_session_hung_during_the_stall_is_still_found_after_it():
    book = running_book()
    ticks(book, 0.0, 0.5)
    book.stalled(20.5, TICK)
    book.heartbeat(A, "connected", 100, 20.6)   # A was alive all along; B hung
    seen = ticks(book, 20.55, 24.5, beating=(A,))
    assert [(t.phone, t.new) for t in seen if t.new == FAILED] == [(B, FAILED)]
    failed_at = next(t.ts for t in seen if t.new == FAILED)
    # B's silence counts as if the 19.95 s the monitor was late had not happened: its last
    # heartbeat (0.0) + that excuse + 3 heartbeats and the grace
    assert abs(failed_at - (0.0 + 19.95 + 3.25)) <= TICK + 1e-6
    assert [r.phone for r in book.recoveries(failed_at) if isinstance(r, Restart)] == [B]


def test_late_looks_within_the_grace_are_jitter_and_excuse_nothing():
    """A loaded machine delays every tick a little: that must not postpone finding a hang."""
    book = running_book()
    now = 0.0
    while now < 3.4:
        now = round(now + TICK + 0.1, 6)   # every look 100 ms late (< the 250 ms grace)
        assert book.stalled(now, TICK) == 0.0
        book.tick(now)
    assert book.health()[A] == FAILED
    assert book.trackers[A].excused_s == 0.0


def test_excuse_counts_only_until_the_next_heartbeat():
    tracker = HealthTracker(A, POLICY)
    tracker.heartbeat(0.0, "connected")
    tracker.excuse(10.0)
    assert tracker.missed(10.5) == 0
    assert tracker.missed(13.3) == 3          # 13.3 - 10 excused - 0.25 grace = 3.05 heartbeats
    tracker.heartbeat(14.0, "connected")
    assert tracker.excused_s == 0.0
    assert tracker.missed(17.3) == 3
