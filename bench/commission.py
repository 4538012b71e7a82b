"""Commission at scale: 100,000 deals closed and a year's earnings for 200 agents, on a real LMDB store.

Everything goes through deals/book.py and deals/accounts.py, as the commands do:
- closes, one per write transaction (as one `deal close` command commits), on
  a sample: per-close latency;
- closes in batches of --batch per write transaction, for the whole set: the
  throughput of closing 100,000 deals (rules: the issue's old-system rules,
  tiers and a share rule, so every kind of calculation is exercised);
- `commission earnings +A --period year` for each of the 200 agents, each in
  its own read transaction: per-agent latency and the total.

    python bench/commission.py [--out bench/results/commission.json] [--deals 100000] [--agents 200]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
from decimal import Decimal
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from common import host_info, summary_ms, write_json  # noqa: E402

from deals import accounts, book  # noqa: E402
from storage import Store  # noqa: E402

RULES = """
[[rule]]
name = "sale-2pct"
kind = "percentage"
rate = "2"
priority = 1
approval_above = "150000"
[rule.scope]
transaction = ["sale"]

[[rule]]
name = "lease-fixed"
kind = "fixed"
amount = "5000"
priority = 1
[rule.scope]
transaction = ["lease", "lease_renewal"]

[[rule]]
name = "villa-tiers"
kind = "tiered"
mode = "marginal"
priority = 10
tiers = [{up_to = "2000000", rate = "1.5"}, {up_to = "5000000", rate = "2"}, {rate = "2.5"}]
[rule.scope]
transaction = ["sale"]
property_type = ["villa"]

[[rule]]
name = "off-plan-share"
kind = "share"
rate = "3"
priority = 1
splits = [{to = "agent", pct = "60"}, {to = "broker", pct = "25"}, {to = "company", pct = "15"}]
[rule.scope]
transaction = ["off_plan"]
"""
KINDS = [("apartment", "sale"), ("villa", "sale"), ("apartment", "lease"), ("townhouse", "off_plan")]
YEAR = 2026


def agents(n: int) -> list[str]:
    return [f"+9715{i:08d}" for i in range(1, n + 1)]


def make_deals(store: Store, n: int, team: list[str], batch: int) -> list[tuple[str, float]]:
    """n deals spread over the agents, kinds and the year: (id, the time it will close)."""
    start = dt.datetime(YEAR, 1, 1, tzinfo=ZoneInfo("Asia/Dubai")).timestamp()
    year_s = 365 * 86400
    out: list[tuple[str, float]] = []
    for lo in range(0, n, batch):
        def add(txn, lo=lo):
            made = []
            for i in range(lo, min(n, lo + batch)):
                ptype, tx = KINDS[i % len(KINDS)]
                price = 90_000 + (i * 7919) % 60_000 if tx == "lease" else 500_000 + (i * 104_729) % 9_500_000
                d = book.new_deal(txn, team[i % len(team)], "+4478%08d" % i, f"Unit {i}", ptype, tx, str(price),
                                  by="bench", now=start + 1)
                made.append((d.id, start + 60 + (i * year_s) // n))
            return made
        out += store.write(add)
    return out


def close_each(store: Store, todo: list[tuple[str, float]]) -> list[float]:
    """One write transaction per close: per-command latency in seconds."""
    samples = []
    for deal_id, when in todo:
        t0 = time.perf_counter()
        store.write(lambda txn: book.close(txn, deal_id, by="bench", now=when))
        samples.append(time.perf_counter() - t0)
    return samples


def close_batched(store: Store, todo: list[tuple[str, float]], batch: int) -> float:
    t0 = time.perf_counter()
    for lo in range(0, len(todo), batch):
        def run(txn, part=todo[lo:lo + batch]):
            for deal_id, when in part:
                book.close(txn, deal_id, by="bench", now=when)
        store.write(run)
    return time.perf_counter() - t0


def earnings_for(store: Store, team: list[str], now: float) -> tuple[list[float], Decimal, int]:
    samples, total, lines = [], Decimal(0), 0
    for agent in team:
        t0 = time.perf_counter()
        with store.read() as txn:
            e = accounts.earnings(txn, agent, "year", now=now)
        samples.append(time.perf_counter() - t0)
        total += e.balance
        lines += len(e.lines)
    return samples, total, lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "commission.json"))
    ap.add_argument("--deals", type=int, default=100_000)
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--batch", type=int, default=1000, help="closes per write transaction in the bulk run")
    ap.add_argument("--single", type=int, default=2000, help="closes measured one transaction each")
    args = ap.parse_args()
    started = time.monotonic()
    home = tempfile.mkdtemp(prefix="wc-bench-commission-")
    try:
        with Store(home) as store:
            team = agents(args.agents)
            store.write(lambda txn: [book.add_agent(txn, a, f"Agent {i}", brn=str(10000 + i), brn_expiry="2099-12-31") for i, a in enumerate(team)]
                        + [book.import_rules(txn, RULES, by="bench")])
            t0 = time.perf_counter()
            todo = make_deals(store, args.deals, team, args.batch)
            create_s = time.perf_counter() - t0
            single = close_each(store, todo[:args.single])
            bulk_s = close_batched(store, todo[args.single:], args.batch)
            again = close_each(store, todo[:200])            # idempotent: nothing written
            now = dt.datetime(YEAR, 12, 31, 23, 0, tzinfo=ZoneInfo("Asia/Dubai")).timestamp()
            earn, total, lines = earnings_for(store, team, now)
            with store.read() as txn:
                ledger_lines = txn.count("ledger")
                pending = sum(1 for e in accounts.ledger_lines(txn) if e.status == "pending_approval")
        size_mb = os.path.getsize(os.path.join(home, "store", "data.mdb")) / 2**20
    finally:
        shutil.rmtree(home, ignore_errors=True)
    bulk_n = len(todo) - args.single
    doc = {
        "bench": "commission",
        "what": f"{args.deals} deals closed through deals/book.py on LMDB, then a year's earnings for "
                f"{args.agents} agents through deals/accounts.py",
        "deals": args.deals, "agents": args.agents,
        "create_deals_s": round(create_s, 2),
        "close_one_per_txn": {**summary_ms(single, 3), "closes_per_s": round(len(single) / sum(single), 1)},
        "close_batched": {"deals": bulk_n, "batch": args.batch, "seconds": round(bulk_s, 2),
                          "closes_per_s": round(bulk_n / bulk_s, 1)},
        "close_again_idempotent": summary_ms(again, 3),
        "earnings_year_per_agent": summary_ms(earn, 3),
        "earnings_all_agents_s": round(sum(earn), 3),
        "ledger_lines": ledger_lines, "pending_approval": pending, "lines_behind_earnings": lines,
        "total_balance": str(total), "store_mb": round(size_mb, 1),
        "host": host_info(), "wall_s": round(time.monotonic() - started, 1),
    }
    print(f"created {args.deals} deals in {create_s:.1f} s")
    print(f"close, one txn each: p50 {doc['close_one_per_txn']['p50']} ms, p99 {doc['close_one_per_txn']['p99']} ms "
          f"({doc['close_one_per_txn']['closes_per_s']}/s)")
    print(f"close, {args.batch} per txn: {bulk_n} in {bulk_s:.1f} s ({doc['close_batched']['closes_per_s']}/s)")
    print(f"close again (idempotent): p50 {doc['close_again_idempotent']['p50']} ms")
    print(f"year's earnings: p50 {doc['earnings_year_per_agent']['p50']} ms, p99 "
          f"{doc['earnings_year_per_agent']['p99']} ms per agent, {doc['earnings_all_agents_s']} s for all "
          f"{args.agents}; {ledger_lines} ledger lines, balances total {total}")
    write_json(args.out, doc, newline=True)


if __name__ == "__main__":
    main()
