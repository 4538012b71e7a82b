"""health/probes.py: a permanent actor that stops answering its probes is found hung within
3.5 heartbeats, once per process, and a monitor's own stall is not counted against it."""
from health.policy import HealthPolicy
from health.probes import ProbeBook

POLICY = HealthPolicy(heartbeat_s=1.0, grace_s=0.25, failed_after=3)
TICK = 0.05


def run(book, start, end, answering, addresses):
    """Tick every TICK; the actors in `answering` answer each probe at once. Hung reports seen."""
    out, now = [], start
    while now <= end:
        book.sync(addresses, now)
        if book.due(now):
            for actor in answering:
                book.answered(actor, addresses[actor], 100, now)
        out += [(h.actor, now) for h in book.hung(now)]
        now = round(now + TICK, 6)
    return out


def test_a_silent_actor_is_hung_within_3_5_heartbeats_and_reported_once():
    book = ProbeBook(POLICY)
    addresses = {"balancer": "b1", "admin": "a1"}
    assert run(book, 0.0, 2.0, {"balancer", "admin"}, addresses) == []
    # the balancer stops at 2.0 (its last answer was at the probe of 2.0 at the latest)
    seen = run(book, 2.05, 10.0, {"admin"}, addresses)
    assert [a for a, _ in seen] == ["balancer"]
    assert seen[0][1] - 2.0 <= 3.5 * POLICY.heartbeat_s


def test_a_new_process_is_probed_afresh():
    book = ProbeBook(POLICY)
    run(book, 0.0, 4.0, set(), {"sim": "s1"})
    assert [h.actor for h in book.hung(4.0)] == []       # already reported
    book.sync({"sim": "s2"}, 4.0)                         # restarted: a new address
    assert book.hung(4.1) == []
    book.answered("sim", "s1", 5, 4.2)                    # a late answer from the old process
    assert book.actors["sim"].last_answer is None
    assert [a for a, _ in run(book, 4.2, 8.0, set(), {"sim": "s2"})] == ["sim"]


def test_the_monitors_own_stall_is_excused():
    book = ProbeBook(POLICY)
    run(book, 0.0, 1.0, {"balancer"}, {"balancer": "b1"})
    book.excuse(20.0)      # the monitor was stopped 20 s
    assert book.hung(21.0) == []
    assert run(book, 21.0, 30.0, {"balancer"}, {"balancer": "b1"}) == []
