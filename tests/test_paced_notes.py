"""`[failover] note_mode = "paced"`: hand-over notes under the campaign limits, never holding
a customer's reply behind them (balancing/dispatch.py, balancing/notes.py; issue 15)."""
from balancing.dispatch import plan_dispatch
from balancing.ratelimit import Limits, RateLimiter
from balancing.strategies import MasterView, RoundRobinState
from storage.outbox import OutboxEntry

S = "+971500000002"
NOW = 1_800_000_000.0     # 2027-01-15 08:00 UTC: 12:00 in Dubai, inside campaign hours


def note(i, to):
    return OutboxEntry(id=i, key=f"handover:{to}", to=to, text="Hi, Backup here", kind="handover", master=S)


def reply(i, to):
    return OutboxEntry(id=i, key=f"reply:{S}:m{i}:0", to=to, text="pong", kind="reply", master=S)


def plan(entries, limiter):
    return plan_dispatch(entries, [MasterView(S)], lambda c: S, hold=set(), in_flight={}, window=64,
                         limiters={S: limiter}, strategy="round-robin", rr=RoundRobinState(), now=NOW)


def test_paced_notes_go_under_the_campaign_limits_not_as_a_burst():
    limiter = RateLimiter(Limits(campaign_per_day=3, gap_min_s=0, gap_max_s=0, pause_every=0,
                                 campaign_hours=("00:00", "23:59"), reply_gap_s=0, min_gap_s=0))
    notes = [note(i, f"+44770090{i:04d}") for i in range(10)]
    first = plan(notes, limiter)
    assert sum(len(v) for v in first.per_master.values()) == 3 and first.held == 7   # the daily cap
    assert plan(notes[3:], limiter).per_master == {}


def test_a_customer_who_writes_gets_the_note_then_the_reply_at_once_whatever_the_limits():
    limiter = RateLimiter(Limits(campaign_per_day=1, gap_min_s=0, gap_max_s=0, pause_every=0,
                                 campaign_hours=("00:00", "23:59"), reply_gap_s=0, min_gap_s=0))
    limiter.record("campaign", "+447700900999", NOW)          # today's campaign budget is spent
    customer = "+447700900001"
    p = plan([note(1, customer), note(2, "+447700900002"), reply(3, customer)], limiter)
    assert p.per_master == {S: [1, 3]}      # the note first, then the reply: not held
    assert p.held == 1                      # the other customer's note waits for tomorrow's budget
