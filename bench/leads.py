"""Lead assignment and relay latency at 50 concurrent leads, through a real sim daemon.

One master, 10 agents on duty (round robin), rate limits off. 50 new customers
write their first message at once; a sample of **assignment** is the time from
just before a customer's send to the sim's timestamp of the lead message
reaching the agent it was offered to (sim → session: lead opened and offered
in the inbound transaction → balancer → session → sim). The agents accept
every lead (`!accept`), then the 50 customers write again at once: **relay
in** is send → the agent's inbox; the agents answer each with `!r ID TEXT` at
once: **relay out** is send → the customer's inbox (from the master). One
host, one clock.

    python bench/leads.py [--out bench/results/leads.json] [--leads 50]

Runs its own daemon with a temporary home on free loopback ports, and stops
it (and kills anything left by pid) at the end, also after an error.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from balancer_support import BenchDaemon  # noqa: E402
from common import host_info, summary_ms, write_json  # noqa: E402
from transports.sim.control import ControlClient  # noqa: E402

MASTER = "+971505760056"
AGENTS = [f"+9715000001{i:02d}" for i in range(10)]
SUMMARY = {"ndigits": 1, "fields": ("p50", "p99", "mean", "max")}
CONFIG = """
[limits]
enabled = false
[logging]
level = "warning"
[leads]
accept_timeout_s = 600
"""


def wait_all(what: str, pending: dict, found, timeout: float = 60.0) -> dict:
    """Poll `found(key)` → a timestamp or None for every key of `pending` until all are found."""
    got: dict = {}
    deadline = time.monotonic() + timeout
    while len(got) < len(pending) and time.monotonic() < deadline:
        for key in pending:
            if key not in got and (ts := found(key)) is not None:
                got[key] = ts
        if len(got) < len(pending):
            time.sleep(0.2)
    if len(got) < len(pending):
        print(f"{what}: {len(pending) - len(got)} missing after {timeout:.0f} s")
    return got


def first_in(sim: ControlClient, phone: str, fragment: str):
    return next((m["ts"] for m in sim.inbox(phone) if fragment in m["text"]), None)


def run(d: BenchDaemon, sim: ControlClient, n: int) -> dict:
    customers = [f"+4477009{i:05d}" for i in range(n)]
    sent = {}
    for c in customers:                       # all at once: 50 leads open together
        sent[c] = time.time()
        sim.send(c, MASTER, f"Hi, looking for a villa ({c})")
    leads = {}
    deadline = time.monotonic() + 60
    while len(leads) < n and time.monotonic() < deadline:
        leads = {row["customer"]: row for row in d.json("leads") if row["agent"]}
        time.sleep(0.3)
    offered = wait_all("assignment", sent, lambda c: first_in(sim, leads[c]["agent"], f"from {c}:"))
    assignment = [offered[c] - sent[c] for c in offered]

    for c, row in leads.items():
        sim.send(row["agent"], MASTER, f"!accept {row['id']}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(d.json("leads", "--status", "accepted")) < n:
        time.sleep(0.3)

    sent_in = {}
    for c in customers:
        sent_in[c] = time.time()
        sim.send(c, MASTER, f"relay check {c}")
    got_in = wait_all("relay in", sent_in, lambda c: first_in(sim, leads[c]["agent"], f"relay check {c}"))
    sent_out = {}
    for c in customers:
        sent_out[c] = time.time()
        sim.send(leads[c]["agent"], MASTER, f"!r {leads[c]['id']} answer for {c}")
    got_out = wait_all("relay out", sent_out, lambda c: first_in(sim, c, f"answer for {c}"))
    wrong_sender = sum(1 for c in customers for m in sim.inbox(c) if m["from"] != MASTER)
    return {"leads": n, "agents": len(AGENTS),
            "assignment_ms": summary_ms(assignment, **SUMMARY),
            "relay_in_ms": summary_ms([got_in[c] - sent_in[c] for c in got_in], **SUMMARY),
            "relay_out_ms": summary_ms([got_out[c] - sent_out[c] for c in got_out], **SUMMARY),
            "missing": {"assignment": n - len(offered), "relay_in": n - len(got_in), "relay_out": n - len(got_out)},
            "customer_saw_an_agent_number": wrong_sender}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "leads.json"))
    ap.add_argument("--leads", type=int, default=50)
    args = ap.parse_args()
    started = time.monotonic()
    d = BenchDaemon("wc-bench-leads-", CONFIG)
    sim = ControlClient("127.0.0.1", d.sim_port)
    try:
        d.start([(MASTER, "Sales", "primary")])
        for i, phone in enumerate(AGENTS):
            d.cli("agent", "add", phone, "--name", f"Agent {i}", "--brn", str(1000 + i), "--brn-expiry",
                  "2099-12-31")
        result = run(d, sim, args.leads)
    finally:
        sim.close()
        d.close()
    for key in ("assignment_ms", "relay_in_ms", "relay_out_ms"):
        s = result[key]
        print(f"{key[:-3]:>10}: p50 {s.get('p50')} ms, p99 {s.get('p99')} ms, max {s.get('max')} ms (n={s['n']})")
    print(f"missing {result['missing']}, customer saw an agent's number {result['customer_saw_an_agent_number']}")
    write_json(args.out, {"bench": "leads", "what": "customer message -> agent notified, and relay both ways, "
                                                     "at concurrent leads through one sim master",
                          **result, "host": host_info(), "seconds": round(time.monotonic() - started, 1)},
               newline=True)


if __name__ == "__main__":
    main()
