"""Replies before campaigns: a customer's `!ping` and `campaign status` while 100,000 campaign messages wait.

A daemon on the sim with 3 linked masters and the default anti-ban limits
(campaigns 45 a day per account: nearly all of the campaign stays queued, as
it would in real use). A campaign of N contacts is queued with `whitecaves
campaign send`; then customers send `!ping` one after the other and each
latency runs from the send to the `pong` in the customer's inbox (sim
timestamps; one host, one clock). `campaign status --json` is timed as a
whole CLI process, and in-process (the daemon's share: connect, ask, answer).
Targets: ping p99 < 1 s, campaign status < 300 ms (the issue measured 11.2 s
and 2.3 s before the outbox had lanes and campaigns had counters).

    python bench/lanes.py [--campaign 100000] [--pings 50] [--out bench/results/lanes.json]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from balancer_support import ROOT, BenchDaemon  # noqa: E402
from common import host_info, summary_ms, write_json  # noqa: E402

from transports.sim.control import ControlClient  # noqa: E402

MASTERS = [("+971505760056", "One", "primary"), ("+971553633595", "Two", "primary"),
           ("+971526113301", "Three", "primary")]
CONFIG = """
[logging]
level = "warning"
"""
TARGETS_MS = {"ping_p99": 1000, "campaign_status": 300}


def ping(sim: ControlClient, customer: str, master: str, timeout: float = 30.0) -> float | None:
    t0 = time.time()
    sim.send(customer, master, f"!ping {customer[-4:]}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pongs = [m for m in sim.inbox(customer) if m["text"].startswith("pong")]
        if pongs:
            return pongs[0]["ts"] - t0
        time.sleep(0.005)
    return None


def status_in_process(d: BenchDaemon, runs: int) -> list[float]:
    from daemon.client import Where, request

    where = Where(home=d.home, port=d.port)
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        request(where, "campaign.status")
        out.append(time.perf_counter() - t0)
    return out


def run(n: int, pings: int) -> dict:
    d = BenchDaemon("wc-bench-lanes-", config=CONFIG)
    try:
        d.start(MASTERS)
        path = os.path.join(d.home, "contacts.csv")
        with open(path, "w") as f:
            f.write("phone\n" + "".join(f"+4478{i:08d}\n" for i in range(n)))
        t0 = time.monotonic()
        d.cli("campaign", "send", "--file", path, "--text", "Our new listings are out", "--name", "bench")
        queue_s = time.monotonic() - t0
        time.sleep(2)   # the balancer's first passes over the new queue
        sim = ControlClient("127.0.0.1", d.sim_port)
        samples, lost = [], 0
        for i in range(pings):
            got = ping(sim, f"+4479{i:08d}", MASTERS[i % len(MASTERS)][0])
            if got is None:
                lost += 1
            else:
                samples.append(got)
        sim.close()
        cli_s = []
        for _ in range(5):
            t1 = time.perf_counter()
            status = d.json("campaign", "status")
            cli_s.append(time.perf_counter() - t1)
        inproc = status_in_process(d, 10)
        return {"campaign": n, "queue_command_s": round(queue_s, 2), "pings": pings, "lost": lost,
                "ping_ms": summary_ms(samples, 1), "campaign_status_cli_ms": summary_ms(cli_s, 1, ("p50", "max")),
                "campaign_status_in_process_ms": summary_ms(inproc, 1, ("p50", "max")),
                "campaign_status": status}
    finally:
        d.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--campaign", type=int, default=100_000)
    ap.add_argument("--pings", type=int, default=50)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "lanes.json"))
    args = ap.parse_args()
    started = time.monotonic()
    load = os.getloadavg()[0]
    r = run(args.campaign, args.pings)
    r["meets_targets"] = {
        "ping_p99": r["lost"] == 0 and r["ping_ms"]["p99"] < TARGETS_MS["ping_p99"],
        "campaign_status": r["campaign_status_in_process_ms"]["max"] < TARGETS_MS["campaign_status"]}
    print(f"{r['campaign']} campaign messages queued ({r['queue_command_s']} s); !ping → pong: "
          f"p50 {r['ping_ms']['p50']} ms, p99 {r['ping_ms']['p99']} ms, lost {r['lost']}/{r['pings']}")
    print(f"campaign status: in-process p50 {r['campaign_status_in_process_ms']['p50']} ms "
          f"(max {r['campaign_status_in_process_ms']['max']}), whole CLI p50 {r['campaign_status_cli_ms']['p50']} ms; "
          f"{r['campaign_status']}")
    result = {"bench": "lanes", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "host": {**host_info(), "load_1m_at_start": round(load, 2),
                       "load_1m_at_end": round(os.getloadavg()[0], 2)},
              "targets_ms": TARGETS_MS, **r, "wall_s": round(time.monotonic() - started, 1)}
    write_json(args.out, result, newline=True)
    print(f"wrote {os.path.relpath(args.out, ROOT)} ({result['wall_s']} s); load {load:.2f}")
    return 0 if all(r["meets_targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
