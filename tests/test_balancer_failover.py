"""The failover transaction, restore, and the dispatch pick: on a real LMDB store, no actors."""
import pytest

from balancing import failover as fo
from balancing.dispatch import plan_dispatch
from balancing.handover import FailoverGate
from balancing.ratelimit import Limits, RateLimiter
from balancing.strategies import MasterView, RoundRobinState
from storage import Store, conversations, events, masters, outbox

P, S, T = "+971500000001", "+971500000002", "+971500000003"
NOTE = "Hi, {name} here"


@pytest.fixture
def store(tmp_path):
    with Store(str(tmp_path)) as s:
        def seed(txn):
            masters.put(txn, masters.Master(P, "Primary", role="primary"))
            masters.put(txn, masters.Master(S, "Second", role="backup", priority=1))
            masters.put(txn, masters.Master(T, "Third", role="backup", priority=2))
            for i in range(10):
                conversations.put(txn, conversations.Conversation(f"+4477009{i:05d}", P, messages=1))
            conversations.put(txn, conversations.Conversation("+447700999999", S, messages=1))
            outbox.enqueue(txn, "+447700900001", "pending reply", master=P)
            outbox.enqueue(txn, "+447700900002", "insisted", via=P)
        s.write(seed)
        yield s


def usable(*phones):
    return lambda m: m.phone in phones


def owners(store):
    with store.read() as txn:
        return {c.customer: c.master for c in conversations.all(txn)}


def test_failover_moves_conversations_retargets_outbox_notes_and_records_in_one_txn(store):
    with store.read() as txn:
        views = fo.master_views(txn, usable(S, T))
    result = store.write(lambda txn: fo.run_failover(txn, P, views, "device logged_out", NOTE))
    assert result.status == "completed" and result.moved == 10
    assert result.targets == {S: 10}          # best tier (priority 1) takes them all
    own = owners(store)
    assert P not in own.values()
    with store.read() as txn:
        moved = conversations.get(txn, "+447700900001")
        assert moved.handed_from == P
        entries = outbox.all(txn)
        ev = events.recent(txn, kinds=("failover",))[0]
    reply = next(e for e in entries if e.text == "pending reply")
    assert reply.master == S
    insisted = next(e for e in entries if e.text == "insisted")
    assert insisted.master == P              # --via is not re-targeted: it waits for its master
    notes = [e for e in entries if e.kind == "handover"]
    assert len(notes) == 10 and {e.master for e in notes} == {S}
    assert all(e.text == "Hi, Second here" for e in notes)
    assert ev.master == P and ev.data["status"] == "completed" and ev.data["count"] == 10
    assert ev.data["targets"] == {S: 10} and ev.data["reason"] == "device logged_out"
    assert ev.data["duration_s"] >= 0


def test_an_error_before_commit_leaves_nothing_moved_and_a_failed_event(store):
    before = owners(store)
    with store.read() as txn:
        views = fo.master_views(txn, usable(S))
        depth = outbox.depth(txn)

    def boom():
        raise RuntimeError("disk on fire")
    with pytest.raises(RuntimeError):
        store.write(lambda txn: fo.run_failover(txn, P, views, "x", NOTE, before_commit=boom))
    assert owners(store) == before
    with store.read() as txn:
        assert outbox.depth(txn) == depth
        assert not events.recent(txn, kinds=("failover",))
    store.write(lambda txn: fo.record_failed(txn, P, "x", "disk on fire", 0.0))
    with store.read() as txn:
        assert events.recent(txn, kinds=("failover",))[0].data["status"] == "failed"


def test_no_healthy_sibling_waits_and_moves_nothing(store):
    before = owners(store)
    with store.read() as txn:
        views = fo.master_views(txn, usable())
    result = store.write(lambda txn: fo.run_failover(txn, P, views, "x", NOTE))
    assert result.status == "waiting" and result.waiting == 10 and result.moved == 0
    assert owners(store) == before
    with store.read() as txn:
        assert not [e for e in outbox.all(txn) if e.kind == "handover"]
        assert next(e for e in outbox.all(txn) if e.text == "pending reply").master == P


def test_manual_failover_to_a_named_master_and_cascade(store):
    with store.read() as txn:
        views = fo.master_views(txn, usable(S, T))
    store.write(lambda txn: fo.run_failover(txn, P, views, "manual", NOTE, to=T))
    assert set(owners(store).values()) == {S, T} and list(owners(store).values()).count(T) == 10
    with store.read() as txn:
        views = fo.master_views(txn, usable(S))
    result = store.write(lambda txn: fo.run_failover(txn, T, views, "cascade", NOTE))
    assert result.moved == 10 and set(owners(store).values()) == {S}


def test_restore_brings_back_only_what_was_handed_over(store):
    with store.read() as txn:
        views = fo.master_views(txn, usable(S, T))
    store.write(lambda txn: fo.run_failover(txn, P, views, "x", NOTE))
    store.write(lambda txn: outbox.enqueue(txn, "+447700999999", "to S's own customer", master=S))
    with store.read() as txn:
        pairs = fo.handed_over(txn, P)
    assert len(pairs) == 10 and {owner for _, owner in pairs} == {S}
    first = {c for c, _ in pairs[:4]}
    data = store.write(lambda txn: fo.run_restore(txn, P, NOTE, first))   # one batch
    assert data["count"] == 4 and sum(1 for m in owners(store).values() if m == P) == 4
    data = store.write(lambda txn: fo.run_restore(txn, P, NOTE))
    assert data["count"] == 6 and data["sources"] == {S: 6}
    own = owners(store)
    assert own["+447700999999"] == S and list(own.values()).count(P) == 10
    with store.read() as txn:
        assert next(e for e in outbox.all(txn) if e.text == "to S's own customer").master == S
        assert next(e for e in outbox.all(txn) if e.text == "pending reply").master == P


def test_balancer_state_round_trips_through_lmdb(store):
    state = fo.BalancerState(FailoverGate(), {P: {"reason": "x", "since": 1.0, "to": None}}, {P}, "priority")
    state.gate.acquire(P)
    store.write(lambda txn: fo.save_state(txn, state))
    with store.read() as txn:
        back = fo.load_state(txn, 30.0, 3, 3600.0, "round-robin")
    assert back.waiting == state.waiting and back.down == {P} and back.strategy == "priority"
    assert back.gate.running(P)


# ---------------------------------------------------------------- dispatch

class E:
    def __init__(self, id, to, kind="reply", master=None, via=None):
        self.id, self.to, self.kind, self.master, self.via = id, to, kind, master, via


def views(*healthy):
    return [MasterView(p, healthy=p in healthy) for p in (P, S, T)]


def test_dispatch_keeps_affinity_holds_for_a_reconnecting_owner_and_reroutes_a_dead_one():
    entries = [E(1, "+441", master=P), E(2, "+442", master=S), E(3, "+443", master=T)]
    plan = plan_dispatch(entries, views(P, T), lambda c: None, hold={S}, in_flight={}, window=10,
                         limiters={}, strategy="round-robin", rr=RoundRobinState(), now=0.0)
    assert plan.per_master == {P: [1], T: [3]} and plan.held == 1
    plan = plan_dispatch(entries, views(P, T), lambda c: None, hold=set(), in_flight={}, window=10,
                         limiters={}, strategy="round-robin", rr=RoundRobinState(), now=0.0)
    placed = {i: m for m, ids in plan.per_master.items() for i in ids}
    assert placed[1] == P and placed[3] == T and placed[2] in (P, T) and plan.moves[2] == placed[2]


def test_dispatch_respects_the_window_and_via():
    entries = [E(i, f"+44{i}", master=P) for i in range(5)] + [E(9, "+449", via=S)]
    plan = plan_dispatch(entries, views(P), lambda c: None, set(), {100: P}, window=3, limiters={},
                         strategy="round-robin", rr=RoundRobinState(), now=0.0)
    assert plan.per_master == {P: [0, 1]} and plan.held == 4


def test_a_master_at_its_rate_limit_is_skipped_not_overrun():
    limits = Limits(campaign_per_day=2, gap_min_s=0, gap_max_s=0, pause_every=0,
                    campaign_hours=("00:00", "23:59"), min_gap_s=0, reply_gap_s=0)
    limiters = {p: RateLimiter(limits) for p in (P, S)}
    entries = [E(i, f"+44{i}", kind="campaign") for i in range(6)]
    now = 1_800_000_000.0
    plan = plan_dispatch(entries, views(P, S), lambda c: None, set(), {}, 64, limiters,
                         "round-robin", RoundRobinState(), now)
    assert sorted(len(v) for v in plan.per_master.values()) == [2, 2] and plan.held == 2
    plan = plan_dispatch(entries[4:], views(P, S), lambda c: None, set(), {}, 64, limiters,
                         "round-robin", RoundRobinState(), now)
    assert plan.per_master == {} and plan.held == 2


def test_an_alert_does_not_wait_for_an_owner_that_is_down():
    """A reply waits for its reconnecting owner; an alert (maybe about that owner) goes now."""
    entries = [E(1, "+441", master=P), E(2, "+441", kind="alert", master=P)]
    plan = plan_dispatch(entries, views(S), lambda c: P, hold={P}, in_flight={}, window=10,
                         limiters={}, strategy="round-robin", rr=RoundRobinState(), now=0.0)
    assert plan.per_master == {S: [2]} and plan.held == 1


def test_a_plan_held_by_a_gap_says_when_the_gap_ends():
    """The balancer wakes at `next_in`: a master paced at one send per 0.2 s sends
    five a second, not one per 0.5 s tick."""
    limiters = {P: RateLimiter(Limits(min_gap_s=0.2, reply_gap_s=0))}
    entries = [E(i, f"+44{i}", master=P) for i in range(3)]
    plan = plan_dispatch(entries, views(P), lambda c: None, set(), {}, 64, limiters,
                         "round-robin", RoundRobinState(), 100.0)
    assert plan.per_master == {P: [0]} and plan.held == 2
    assert plan.next_in == pytest.approx(0.2)
    plan = plan_dispatch(entries[1:], views(P), lambda c: None, set(), {}, 64, limiters,
                         "round-robin", RoundRobinState(), 100.0 + plan.next_in)
    assert plan.per_master == {P: [1]}
    unlimited = plan_dispatch(entries, views(P), lambda c: None, set(), {}, 64, {},
                              "round-robin", RoundRobinState(), 100.0)
    assert unlimited.next_in == float("inf")


def test_new_conversations_go_to_a_recovered_master_first_and_stick():
    fresh = {}
    entries = [E(1, "+441"), E(2, "+442"), E(3, "+441")]
    plan = plan_dispatch(entries, views(P, S), lambda c: None, set(), {}, 64, {}, "round-robin",
                         RoundRobinState(), 0.0, recovering={P}, fresh=fresh)
    assert plan.per_master == {P: [1, 2, 3]}
    plan = plan_dispatch([E(4, "+441")], views(P, S), lambda c: None, set(), {}, 64, {}, "round-robin",
                         RoundRobinState(), 0.0, fresh=fresh)
    assert plan.per_master == {P: [4]}


def test_a_handed_over_customer_hears_the_note_before_its_pending_reply():
    entries = [E(1, "+441", master=S), E(2, "+442", master=S), E(3, "+441", kind="handover", master=S)]
    plan = plan_dispatch(entries, views(S), lambda c: None, set(), {}, 64, {}, "round-robin",
                         RoundRobinState(), 0.0)
    assert plan.per_master == {S: [2, 3]} and plan.held == 1
