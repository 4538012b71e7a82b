"""The balancer's pure policy: strategies, hand-over plans, the failover gate,
rate limits and the balance quality. No actor system."""
import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from balancing.handover import FailoverGate, apportion, plan_handover, plan_restore
from balancing.quality import balance_quality, load_shares
from balancing.ratelimit import KINDS, Limits, RateLimiter
from balancing.strategies import (STRATEGIES, MasterView, RoundRobinState, country_of,
                                        pick, rank, route)

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DUBAI = ZoneInfo("Asia/Dubai")


def dubai(y, mo, d, h, mi=0, s=0):
    return datetime(y, mo, d, h, mi, s, tzinfo=DUBAI).timestamp()


def m(phone, **kw):
    return MasterView(phone, **kw)


# ---------------------------------------------------------------- strategies

def test_master_view_rejects_bad_role_and_weight_and_normalises_region():
    with pytest.raises(ValueError):
        m("+1", role="leader")
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            m("+1", weight=bad)
    assert m("+1", region="ae").region == "AE"


@pytest.mark.parametrize("phone,country", [
    ("+971505760056", "AE"), ("00971505760056", "AE"), ("971 50 576 0056", "AE"),
    ("+447700900123", "GB"), ("+79161234567", "RU"), ("+77011234567", "KZ"),
    ("+12025550123", "US"), ("+966501234567", "SA"), ("+919812345678", "IN"),
    ("+999123", None), ("", None),
])
def test_country_of_uses_the_longest_calling_code(phone, country):
    assert country_of(phone) == country


def test_unknown_strategy_names_the_valid_ones():
    with pytest.raises(ValueError) as info:
        pick("fastest", [], "+971500000001")
    for name in STRATEGIES:
        assert name in str(info.value)


def test_round_robin_rotates_in_phone_order_and_skips_masters_that_cannot_take_it():
    masters = [m("+3"), m("+1"), m("+2", healthy=False), m("+4", can_send=False), m("+5")]
    state = RoundRobinState()
    picks = [pick("round-robin", masters, "+971500000001", state) for _ in range(6)]
    assert picks == ["+1", "+3", "+5", "+1", "+3", "+5"]


def test_round_robin_stays_fair_when_a_master_joins():
    state = RoundRobinState()
    assert pick("round-robin", [m("+1"), m("+3")], "c", state) == "+1"
    # +2 joins: the rotation goes on after +1 instead of restarting
    assert [pick("round-robin", [m("+1"), m("+2"), m("+3")], "c", state) for _ in range(3)] == ["+2", "+3", "+1"]


def test_no_available_master_gives_none_for_every_strategy():
    masters = [m("+1", healthy=False), m("+2", can_send=False)]
    for name in STRATEGIES:
        assert pick(name, masters, "+971500000001", RoundRobinState()) is None
        assert pick(name, [], "+971500000001") is None


def test_priority_keeps_traffic_on_the_primary_tier_and_falls_through_at_its_limit():
    masters = [m("+1", role="backup", priority=1), m("+2", role="primary", priority=5),
               m("+3", role="backup", priority=2)]
    state = RoundRobinState()
    assert {pick("priority", masters, "c", state) for _ in range(5)} == {"+2"}
    limited = [masters[0], m("+2", role="primary", priority=5, can_send=False), masters[2]]
    assert pick("priority", limited, "c", state) == "+1"   # backup with the lowest number next
    assert rank(masters[1]) < rank(masters[0]) < rank(masters[2])


def test_priority_spreads_within_a_tier_by_weight_smoothly():
    masters = [m("+1", weight=3), m("+2", weight=1)]
    state = RoundRobinState()
    picks = [pick("priority", masters, "c", state) for _ in range(8)]
    assert picks.count("+1") == 6 and picks.count("+2") == 2
    assert picks[:4].count("+2") == 1   # interleaved, not six in a row then two


@FAST
@given(weights=st.lists(st.integers(1, 6), min_size=1, max_size=5), n=st.integers(1, 80))
def test_smooth_weighted_round_robin_stays_within_one_pick_of_the_weighted_share(weights, n):
    masters = [m(f"+{i + 10}", weight=float(w)) for i, w in enumerate(weights)]
    state = RoundRobinState()
    picks = [pick("priority", masters, "c", state) for _ in range(n)]
    total = sum(weights)
    for master in masters:
        assert abs(picks.count(master.phone) - n * master.weight / total) < 1


def test_least_loaded_picks_the_lowest_load_per_weight_and_rotates_ties():
    masters = [m("+1", conversations=5, outbox_depth=5), m("+2", conversations=2, outbox_depth=1),
               m("+3", conversations=4, weight=2.0), m("+4", conversations=0, healthy=False)]
    # loads per weight: +1 → 10, +2 → 3, +3 → 2, +4 unhealthy
    assert pick("least-loaded", masters, "c") == "+3"
    tied = [m("+1", conversations=2), m("+2", outbox_depth=2), m("+3", conversations=9)]
    state = RoundRobinState()
    assert [pick("least-loaded", tied, "c", state) for _ in range(3)] == ["+1", "+2", "+1"]


def test_region_prefers_a_master_in_the_customers_country_else_round_robin():
    masters = [m("+1", region="GB"), m("+2", region="AE"), m("+3", region="AE"), m("+4")]
    state = RoundRobinState()
    assert {pick("region", masters, "+971501112233", state) for _ in range(4)} == {"+2", "+3"}
    assert pick("region", masters, "+447700900123", RoundRobinState()) == "+1"
    # nobody in Saudi Arabia: plain rotation over all
    state = RoundRobinState()
    assert [pick("region", masters, "+966501234567", state) for _ in range(4)] == ["+1", "+2", "+3", "+4"]
    # the only AE master cannot send: fall back instead of returning None
    assert pick("region", [m("+2", region="AE", can_send=False), m("+5")], "+971501112233") == "+5"


def test_route_keeps_the_owner_while_it_can_take_the_message():
    masters = [m("+1"), m("+2")]
    assert route("+2", masters, "c") == "+2"
    assert route("+2", [m("+1"), m("+2", healthy=False)], "c") == "+1"
    assert route("+2", [m("+1"), m("+2", can_send=False)], "c") == "+1"
    assert route(None, masters, "c") == "+1"
    assert route("+9", masters, "c") == "+1"   # owner no longer configured
    assert route("+2", [m("+2", healthy=False)], "c") is None


masters_strategy = st.lists(
    st.builds(MasterView, phone=st.sampled_from([f"+97150000000{i}" for i in range(8)]),
              role=st.sampled_from(["primary", "backup"]), priority=st.integers(0, 3),
              weight=st.sampled_from([0.5, 1.0, 2.0, 3.0]), region=st.sampled_from([None, "AE", "GB", "RU"]),
              healthy=st.booleans(), conversations=st.integers(0, 50), outbox_depth=st.integers(0, 50),
              can_send=st.booleans()),
    max_size=8, unique_by=lambda v: v.phone)


@FAST
@given(masters=masters_strategy, strategy=st.sampled_from(STRATEGIES),
       customers=st.lists(st.sampled_from(["+971501234567", "+447700900123", "+79161234567", "+12025550123"]),
                          min_size=1, max_size=12),
       owner=st.sampled_from([None, "+971500000000", "+971500000003"]))
def test_picks_never_choose_a_master_that_cannot_take_the_message(masters, strategy, customers, owner):
    available = {v.phone for v in masters if v.healthy and v.can_send}
    state = RoundRobinState()
    for customer in customers:
        for chosen in (pick(strategy, masters, customer, state), route(owner, masters, customer, strategy, state)):
            if available:
                assert chosen in available
            else:
                assert chosen is None


# ---------------------------------------------------------------- handover

def test_handover_spreads_the_failed_masters_conversations_evenly_over_healthy_siblings():
    conversations = [(f"c{i}", "+1") for i in range(5)] + [("x", "+2"), ("y", "+3")]
    siblings = [m("+1"), m("+2"), m("+3"), m("+4", healthy=False)]
    plan = plan_handover("+1", conversations, siblings)
    assert set(plan.moves) == {f"c{i}" for i in range(5)}
    assert plan.targets == {"+2": 3, "+3": 2}
    assert plan.unplaced == () and plan.complete


def test_handover_fills_the_least_loaded_sibling_first():
    conversations = [(f"c{i}", "+1") for i in range(6)]
    plan = plan_handover("+1", conversations, [m("+2", conversations=10), m("+3", conversations=0)])
    assert plan.targets == {"+3": 6}
    plan = plan_handover("+1", conversations, [m("+2", conversations=2), m("+3", conversations=0)])
    assert plan.targets == {"+2": 2, "+3": 4}   # both end at 4


def test_handover_respects_weights_and_priority_tiers():
    conversations = [(f"c{i}", "+1") for i in range(9)]
    assert plan_handover("+1", conversations, [m("+2", weight=2.0), m("+3")]).targets == {"+2": 6, "+3": 3}
    tiers = [m("+2", priority=2), m("+3", priority=1, conversations=100), m("+4", role="primary", healthy=False)]
    assert plan_handover("+1", conversations, tiers).targets == {"+3": 9}   # cascade to the next tier


def test_handover_without_a_healthy_sibling_keeps_everything_for_later():
    conversations = [("b", "+1"), ("a", "+1"), ("z", "+2")]
    plan = plan_handover("+1", conversations, [m("+1"), m("+2", healthy=False)])
    assert plan.moves == {} and plan.unplaced == ("a", "b") and not plan.complete
    # a manual run --to a given sibling uses only that one
    plan = plan_handover("+1", conversations, [m("+2"), m("+3")], to="+3")
    assert plan.targets == {"+3": 2}


def test_handover_is_deterministic_whatever_the_input_order():
    conversations = [(f"c{i}", "+1") for i in range(20)]
    siblings = [m("+2"), m("+3", weight=2.0), m("+4", conversations=3)]
    plan = plan_handover("+1", conversations, siblings)
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(conversations)
        rng.shuffle(siblings)
        assert plan_handover("+1", conversations, siblings) == plan


@FAST
@given(owned=st.lists(st.tuples(st.integers(0, 300), st.sampled_from(["+1", "+2", "+3", "+4", "+5"])),
                      max_size=300),
       siblings=st.lists(st.builds(MasterView, phone=st.sampled_from(["+1", "+2", "+3", "+4", "+5", "+6"]),
                                   role=st.sampled_from(["primary", "backup"]), priority=st.integers(0, 2),
                                   weight=st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]), healthy=st.booleans(),
                                   conversations=st.integers(0, 40)),
                         max_size=6, unique_by=lambda v: v.phone))
def test_handover_moves_exactly_the_failed_masters_conversations_to_healthy_siblings_evenly(owned, siblings):
    conversations = list({f"c{c}": owner for c, owner in owned}.items())   # one owner per customer
    mine = {c for c, owner in conversations if owner == "+1"}
    plan = plan_handover("+1", conversations, siblings)
    healthy = [s for s in siblings if s.healthy and s.phone != "+1"]
    assert set(plan.moves) | set(plan.unplaced) == mine
    assert not set(plan.moves) & set(plan.unplaced)
    if not healthy:
        assert plan.moves == {}
        return
    assert plan.unplaced == ()
    tier = [s for s in healthy if rank(s) == min(rank(h) for h in healthy)]
    assert set(plan.targets) <= {s.phone for s in tier}
    final = {s.phone: s.conversations + plan.targets.get(s.phone, 0) for s in tier}
    weight = {s.phone: s.weight for s in tier}
    # within one conversation of level per weight: a receiver is never more than one
    # above any other master's weighted level
    for receiver in plan.targets:
        for other in final:
            assert (final[receiver] - 1) / weight[receiver] < (final[other] + 1) / weight[other] + 1e-9


@FAST
@given(n=st.integers(0, 500), weights=st.lists(st.sampled_from([0.5, 1.0, 2.0, 2.5, 7.0]), min_size=1, max_size=6))
def test_apportion_from_empty_masters_gives_each_its_quota_within_one(n, weights):
    masters = [m(f"+{i + 2}", weight=w) for i, w in enumerate(weights)]
    counts = apportion(n, masters)
    assert sum(counts.values()) == n
    for master in masters:
        assert abs(counts[master.phone] - n * master.weight / sum(weights)) < 1


def test_apportion_gives_the_leftover_to_the_largest_remainders():
    # quotas 0.6, 0.6, 1.8: floors 0, 0, 1; the two leftovers go to 0.8 (+4), then 0.6 (+2 by phone)
    masters = [m("+2"), m("+3"), m("+4", weight=3.0)]
    assert apportion(3, masters) == {"+2": 1, "+3": 0, "+4": 2}


def test_restore_gives_back_gradually_in_interleaved_batches():
    handed = [(f"a{i}", "+2") for i in range(6)] + [(f"b{i}", "+3") for i in range(3)] + [("own", "+1")]
    plan = plan_restore("+1", handed, batch_size=4, step_s=10.0)
    assert [len(b) for b in plan.batches] == [4, 4, 1]
    assert plan.total == 9
    assert sorted(plan.batches[0].values()) == ["+2", "+2", "+3", "+3"]   # takes from both siblings
    moved = [c for batch in plan.batches for c in batch]
    assert sorted(moved) == sorted(c for c, owner in handed if owner != "+1")
    assert [plan.due(t) for t in (-1, 0, 9.9, 10, 25, 1000)] == [0, 1, 1, 2, 3, 3]
    with pytest.raises(ValueError):
        plan_restore("+1", handed, batch_size=0)


@FAST
@given(handed=st.lists(st.tuples(st.integers(0, 99).map(lambda i: f"c{i}"), st.sampled_from(["+1", "+2", "+3"])),
                       max_size=120, unique_by=lambda t: t[0]),
       batch=st.integers(1, 25))
def test_restore_moves_each_handed_over_conversation_once_and_never_more_than_a_batch(handed, batch):
    plan = plan_restore("+1", handed, batch_size=batch)
    moved = [c for b in plan.batches for c in b]
    assert sorted(moved) == sorted(c for c, owner in handed if owner != "+1")
    assert all(0 < len(b) <= batch for b in plan.batches)


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def test_failover_gate_allows_one_failover_per_master_at_a_time_with_a_lock_timeout():
    clock = FakeClock()
    gate = FailoverGate(lock_timeout_s=30, max_failovers=10, clock=clock)
    assert gate.acquire("+1").allowed and gate.running("+1")
    assert gate.acquire("+1").reason == "running"
    assert gate.acquire("+2").allowed   # other masters are independent
    gate.release("+1")
    assert not gate.running("+1") and gate.acquire("+1").reason == "ok"
    clock.now += 31   # the holder died mid-way
    assert not gate.running("+1")
    assert gate.acquire("+1") .reason == "stale-lock"


def test_failover_gate_pauses_a_flapping_master_until_resumed():
    clock = FakeClock()
    gate = FailoverGate(max_failovers=3, window_s=600, clock=clock)
    for _ in range(3):
        assert gate.acquire("+1").allowed
        gate.release("+1")
        clock.now += 60
    decision = gate.acquire("+1")
    assert not decision.allowed and decision.reason == "paused" and gate.paused("+1")
    clock.now += 10_000   # the window passing does not lift the pause: an admin must act
    assert gate.acquire("+1").reason == "paused"
    assert gate.acquire("+1", automatic=False).allowed   # manual failover still possible
    gate.release("+1")
    restored = FailoverGate.from_dict(msgpack.unpackb(msgpack.packb(gate.to_dict())),
                                      max_failovers=3, window_s=600, clock=clock)
    assert restored.paused("+1")
    restored.resume("+1")
    assert restored.acquire("+1").allowed


def test_failover_gate_does_not_pause_failovers_spread_beyond_the_window():
    clock = FakeClock()
    gate = FailoverGate(max_failovers=2, window_s=100, clock=clock)
    for _ in range(6):
        assert gate.acquire("+1").allowed
        gate.release("+1")
        clock.now += 60   # two per 100 s at most
    assert not gate.paused("+1")


# ---------------------------------------------------------------- rate limits

def test_limits_default_to_the_replaced_systems_values_and_validate():
    limits = Limits()
    assert (limits.campaign_per_day, limits.gap_min_s, limits.gap_max_s, limits.pause_every, limits.pause_s,
            limits.campaign_hours, limits.timezone) == (45, 3, 5, 5, 60, ("08:00", "18:00"), "Asia/Dubai")
    assert Limits(campaign_hours=["09:00", "17:00"]).campaign_hours == ("09:00", "17:00")
    with pytest.raises(ValueError):
        Limits(campaign_hours=("18:00", "08:00"))
    with pytest.raises(ValueError):
        Limits(gap_min_s=5, gap_max_s=3)
    with pytest.raises(Exception):
        Limits(timezone="Mars/Olympus")
    with pytest.raises(ValueError):
        RateLimiter().check("spam", "+1", 0.0)


def test_campaigns_wait_for_the_opening_hours_in_dubai():
    limiter = RateLimiter()
    assert limiter.check("campaign", "+1", dubai(2024, 5, 1, 7, 0)) == 3600
    assert limiter.check("campaign", "+1", dubai(2024, 5, 1, 8, 0)) == 0
    assert limiter.check("campaign", "+1", dubai(2024, 5, 1, 18, 0)) == 14 * 3600
    # replies do not care about hours
    assert limiter.check("reply", "+1", dubai(2024, 5, 1, 3, 0)) == 0


def test_campaign_gap_pause_and_daily_cap():
    limiter = RateLimiter(rng=random.Random(1))
    now = dubai(2024, 5, 1, 9, 0)
    for i in range(1, 46):
        assert limiter.check("campaign", f"+c{i}", now) == 0
        limiter.record("campaign", f"+c{i}", now)
        wait = limiter.check("campaign", f"+c{i + 1}", now)
        if i == 45:
            assert now + wait == dubai(2024, 5, 2, 8, 0)   # cap reached: tomorrow's opening
        elif i % 5 == 0:
            assert wait == 60
        else:
            assert 3 <= wait <= 5
        now += wait
    assert limiter.remaining_today(dubai(2024, 5, 1, 17, 0)) == 0
    assert limiter.remaining_today(dubai(2024, 5, 2, 9, 0)) == 45


def test_the_day_turns_at_midnight_in_the_configured_timezone_not_utc():
    limiter = RateLimiter()
    limiter.record("campaign", "+c", dubai(2024, 5, 1, 17, 0))
    assert limiter.campaign_sent_today(dubai(2024, 5, 1, 23, 59)) == 1
    # 00:30 in Dubai is still 20:30 of the previous day in UTC
    assert limiter.campaign_sent_today(dubai(2024, 5, 2, 0, 30)) == 0


def test_replies_have_no_cap_only_the_per_contact_gap_and_the_global_minimum_gap():
    limiter = RateLimiter(Limits(campaign_per_day=1))
    t = dubai(2024, 5, 1, 22, 0)
    for i in range(100):
        assert limiter.check("reply", f"+r{i}", t) == 0
        limiter.record("reply", f"+r{i}", t)
        t += 0.2
    assert limiter.remaining_today(t) == 1   # replies did not count
    limiter.record("reply", "+x", t)
    assert limiter.check("reply", "+x", t + 0.5) == pytest.approx(0.5, abs=1e-6)   # per contact
    assert limiter.check("reply", "+y", t + 0.1) == pytest.approx(0.1, abs=1e-6)   # global floor
    assert limiter.check("alert", "+y", t + 0.5) == 0
    assert len(limiter.last_to) <= 5   # old contacts are forgotten


def test_disabled_limits_never_wait_and_state_round_trips_through_msgpack():
    off = RateLimiter(Limits(enabled=False))
    for _ in range(100):
        off.record("campaign", "+1", 0.0)
    assert off.check("campaign", "+1", 0.0) == 0
    limiter = RateLimiter(rng=random.Random(3))
    now = dubai(2024, 5, 1, 9, 0)
    limiter.record("campaign", "+a", now)
    limiter.record("reply", "+b", now + 0.1)
    copy = RateLimiter.from_dict(msgpack.unpackb(msgpack.packb(limiter.to_dict())))
    for kind, to, t in (("campaign", "+c", now + 1), ("reply", "+b", now + 0.5), ("campaign", "+c", now + 9)):
        assert copy.check(kind, to, t) == limiter.check(kind, to, t)
    assert copy.campaign_sent_today(now) == 1


@settings(max_examples=40, deadline=None)
@given(cap=st.integers(1, 60), pause_every=st.integers(0, 7), gap_min=st.floats(0, 4), gap_extra=st.floats(0, 4),
       pause_s=st.floats(0, 120), start_h=st.floats(0, 23.9), seed=st.integers(0, 1000),
       reply_every=st.sampled_from([0, 2, 3, 4]))
def test_a_greedy_sender_never_breaks_the_limits_over_simulated_days(cap, pause_every, gap_min, gap_extra,
                                                                     pause_s, start_h, seed, reply_every):
    limits = Limits(campaign_per_day=cap, gap_min_s=gap_min, gap_max_s=gap_min + gap_extra,
                    pause_every=pause_every, pause_s=pause_s)
    limiter = RateLimiter(limits, random.Random(seed))
    now = dubai(2024, 5, 1, 0) + start_h * 3600
    end = now + 2.5 * 86400
    campaign: list[float] = []
    sends: list[float] = []
    i = 0
    while True:
        i += 1
        kind = "reply" if reply_every and i % reply_every == 0 else "campaign"
        to = "+same" if kind == "reply" else f"+c{i}"
        now += limiter.check(kind, to, now)
        if now > end:
            break
        limiter.record(kind, to, now)
        sends.append(now)
        if kind == "campaign":
            campaign.append(now)
    per_day: dict = {}
    for t in campaign:
        local = datetime.fromtimestamp(t, DUBAI)
        assert "08:00" <= local.strftime("%H:%M") < "18:00"
        per_day.setdefault(local.date(), []).append(t)
    for day, times in per_day.items():
        assert len(times) <= cap
        for k in range(1, len(times)):
            gap = times[k] - times[k - 1]
            assert gap >= gap_min - 1e-6
            if pause_every and k % pause_every == 0:
                assert gap >= pause_s - 1e-6
    assert all(b - a >= limits.min_gap_s - 1e-6 for a, b in zip(sends, sends[1:]))
    # liveness: the day after the first one lies wholly in the run, and its hours easily
    # hold cap·(gap + pause) for these ranges: the sender must reach the cap there
    first = datetime.fromtimestamp(campaign[0], DUBAI).date()
    assert len(per_day[first + timedelta(days=1)]) == cap


def test_every_kind_is_known():
    limiter = RateLimiter()
    for kind in KINDS:
        assert limiter.check(kind, "+1", dubai(2024, 5, 1, 10)) == 0


# ---------------------------------------------------------------- balance quality

def test_load_shares_are_percentages_of_the_total():
    assert load_shares({"+1": 3, "+2": 1}) == {"+1": 75.0, "+2": 25.0}
    assert load_shares({"+1": 0, "+2": 0}) == {"+1": 0.0, "+2": 0.0}
    assert load_shares({}) == {}


def test_balance_quality_uses_the_population_standard_deviation():
    assert balance_quality([50, 50]) == 100
    assert balance_quality([100, 0]) == 0
    assert balance_quality([60, 40]) == pytest.approx(80)   # σ = 10 (a sample σ would give 71.7)
    assert balance_quality([]) == 100
    assert balance_quality([100, 0, 0, 0]) == pytest.approx(100 - 2 * 1875 ** 0.5)
    assert balance_quality([200, 0]) == 0   # clamped


@FAST
@given(counts=st.dictionaries(st.sampled_from([f"+{i}" for i in range(10)]), st.integers(0, 10_000)))
def test_balance_quality_is_within_0_and_100_and_perfect_for_equal_loads(counts):
    shares = load_shares(counts)
    if sum(counts.values()):
        assert sum(shares.values()) == pytest.approx(100)
    quality = balance_quality(shares.values())
    assert 0 <= quality <= 100
    assert balance_quality([100 / len(counts)] * len(counts) if counts else []) == pytest.approx(100)
