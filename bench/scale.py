"""Many masters on one host: start, memory, idle CPU, status, failover and stop, per count of masters.

For each count N (default 50,200,500) a daemon on the simulated network, its
N masters registered and linked before it starts (master records in LMDB,
linked accounts in the sim's store, each session's device token: what N runs
of `master add` + `link master` leave behind). Measured:
- connect_s: from `daemon start` (the CLI process starting) until every
  master's device state is `connected` in LMDB; start_cli_s: the CLI alone;
- PSS per session process (mean, max) and of every process of the daemon;
- idle CPU over 30 s once all are connected (heartbeats, keepalives, ticks
  only): utime+stime of every daemon process, as % of one core, with the
  share of the sessions, the HA monitor, the balancer, the sim and the rest;
- `daemon status --json` and `masters --json`: whole CLI processes, 5 runs;
- failover of one master owning 100 conversations (sim logout → the failover
  event in LMDB, written in the transaction that moves them);
- `daemon stop`, whole CLI process, and no process left.
Besides: the PSS of a lone interpreter with a session's imports, and with a
neonize client created (no network), so a real master's cost is known.
Targets on the 2-core host: 500 connected < 60 s, idle CPU < 10 % of a core,
PSS per master <= 12 MiB, status and masters < 1 s, failover < 1 s, stop < 10 s.

    python bench/scale.py [--masters 50,200,500] [--idle-s 30] [--out bench/results/scale.json]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from balancer_support import ROOT, BenchDaemon  # noqa: E402
from common import host_info, summary_ms, write_json  # noqa: E402
import proc_stats  # noqa: E402

from storage import Store, conversations, events, masters  # noqa: E402
from transports.sim.control import ControlClient  # noqa: E402
from transports.sim.state import SimState  # noqa: E402

TARGETS = {"connect_s_at_500": 60.0, "idle_cpu_pct": 10.0, "pss_per_master_mib": 12.0,
           "status_s": 1.0, "masters_s": 1.0, "failover_s": 1.0, "stop_s": 10.0}
CONFIG = """
[limits]
enabled = false
[logging]
level = "warning"
[daemon]
start_timeout_s = 120.0
"""


def phones(n: int) -> list[str]:
    return [f"+9715{i:08d}" for i in range(n)]


def register(home: str, numbers: list[str]) -> None:
    """What `master add` and `link master` leave behind, for every number, before the daemon starts."""
    sim = SimState(os.path.join(home, "sim"))
    sessions = os.path.join(home, "sessions")
    os.makedirs(sessions, mode=0o700, exist_ok=True)
    for phone in numbers:
        token = sim.pair(phone)
        with open(os.path.join(sessions, f"{phone}.sim"), "w") as f:
            f.write(token)
    sim.close()
    with Store(home) as store:
        store.write(lambda txn: [masters.put(txn, masters.Master(phone, f"M{i}", device_state="disconnected"))
                                 for i, phone in enumerate(numbers)])


def states(store: Store) -> dict[str, str]:
    with store.read() as txn:
        return {m.phone: m.device_state for m in masters.all(txn)}


def timed_cli(d: BenchDaemon, *args: str) -> float:
    t0 = time.perf_counter()
    d.cli(*args)
    return time.perf_counter() - t0


def idle_cpu(d: BenchDaemon, store: Store, seconds: float) -> dict:
    """CPU of every daemon process over `seconds`, as % of one core, by role."""
    status = d.json("daemon", "status")
    role = {a["pid"]: a["name"] for a in status["actors"] if a.get("pid")}
    pids = proc_stats_pids(d)
    before = proc_stats.cpu_seconds(pids)
    load_before = os.getloadavg()[0]
    time.sleep(seconds)
    after = proc_stats.cpu_seconds(pids)
    by_role: dict[str, float] = {}
    for pid, used in after.items():
        name = role.get(pid, "other (logger, thespian admin, keeper, standby)")
        name = "sessions" if name.startswith("master:") else name
        by_role[name] = by_role.get(name, 0.0) + (used - before.get(pid, used))
    total = sum(by_role.values())
    return {"seconds": seconds, "cpu_pct_of_one_core": round(100 * total / seconds, 2),
            "by_role_pct": {k: round(100 * v / seconds, 2) for k, v in sorted(by_role.items())},
            "load_1m_before": round(load_before, 2), "load_1m_after": round(os.getloadavg()[0], 2)}


def proc_stats_pids(d: BenchDaemon) -> list[int]:
    from runtime import procs
    return procs.processes_of(d.home)


def memory(d: BenchDaemon, store: Store) -> dict:
    with store.read() as txn:
        session_pids = [m.pid for m in masters.all(txn) if m.pid]
    per_session = [k for k in (proc_stats.pss_kib(p) for p in session_pids) if k is not None]
    every = [k for k in (proc_stats.pss_kib(p) for p in proc_stats_pids(d)) if k is not None]
    return {"sessions": len(per_session), "processes": len(every),
            "pss_per_master_mib": {"mean": round(sum(per_session) / len(per_session) / 1024, 2),
                                   "max": round(max(per_session) / 1024, 2)},
            "pss_daemon_mib": round(sum(every) / 1024, 1),
            "pss_without_sessions_mib": round((sum(every) - sum(per_session)) / 1024, 1)}


def failover(d: BenchDaemon, store: Store, victim: str, n: int = 100) -> float | None:
    """Seconds from the sim's logout of `victim` (owning n conversations) to its failover event."""
    def seed(txn):
        for i in range(n):
            conversations.put(txn, conversations.Conversation(f"+4477{i:08d}", victim, messages=1,
                                                              last_ts=time.time()))
    store.write(seed)
    sim = ControlClient("127.0.0.1", d.sim_port)
    try:
        t0 = time.monotonic()
        sim.fault(victim, "logout")
        deadline = t0 + 30
        while time.monotonic() < deadline:
            with store.read() as txn:
                if events.recent(txn, limit=1, kinds=("failover",)):
                    return time.monotonic() - t0
            time.sleep(0.002)
        return None
    finally:
        sim.close()


def run(n: int, idle_s: float) -> dict:
    d = BenchDaemon(f"wc-bench-scale-{n}-", config=CONFIG)
    numbers = phones(n)
    try:
        register(d.home, numbers)
        t0 = time.monotonic()
        d.cli("daemon", "start", "--transport", "sim")
        start_cli_s = time.monotonic() - t0
        store = Store(d.home)
        connected_s, left = None, n
        deadline = t0 + 300
        while time.monotonic() < deadline:
            st = states(store)
            left = sum(1 for p in numbers if st.get(p) != "connected")
            if left == 0:
                connected_s = time.monotonic() - t0
                break
            time.sleep(0.1)
        time.sleep(5)   # let the start's burst of first heartbeats and announcements settle
        mem = memory(d, store)
        idle = idle_cpu(d, store, idle_s)
        status_s = [timed_cli(d, "daemon", "status", "--json") for _ in range(5)]
        masters_s = [timed_cli(d, "masters", "--json") for _ in range(5)]
        failover_s = failover(d, store, numbers[0])
        store.close()
        t1 = time.monotonic()
        d.cli("daemon", "stop")
        stop_s = time.monotonic() - t1
        from runtime import procs
        left_after_stop = len(procs.processes_of(d.home))
        return {"masters": n, "start_cli_s": round(start_cli_s, 2),
                "connect_s": None if connected_s is None else round(connected_s, 2),
                "not_connected": left, **mem, "idle": idle,
                "status_ms": summary_ms(status_s, 1, ("p50", "max")),
                "masters_ms": summary_ms(masters_s, 1, ("p50", "max")),
                "failover_100_s": None if failover_s is None else round(failover_s, 3),
                "stop_s": round(stop_s, 2), "processes_left_after_stop": left_after_stop}
    finally:
        d.close()


def report(r: dict) -> None:
    idle = r["idle"]
    print(f"{r['masters']:>4} masters: connected in {r['connect_s']} s (CLI {r['start_cli_s']} s); "
          f"PSS/master {r['pss_per_master_mib']['mean']} MiB (max {r['pss_per_master_mib']['max']}), "
          f"daemon {r['pss_daemon_mib']} MiB in {r['processes']} processes")
    print(f"      idle CPU {idle['cpu_pct_of_one_core']} % of a core over {idle['seconds']} s "
          f"(load {idle['load_1m_before']}→{idle['load_1m_after']}): {idle['by_role_pct']}")
    print(f"      status p50 {r['status_ms']['p50']} ms (max {r['status_ms']['max']}), masters p50 "
          f"{r['masters_ms']['p50']} ms (max {r['masters_ms']['max']}); failover of 100 conversations "
          f"{r['failover_100_s']} s; stop {r['stop_s']} s ({r['processes_left_after_stop']} left)")


def meets(r: dict) -> dict:
    return {"connect": r["connect_s"] is not None and r["connect_s"] < TARGETS["connect_s_at_500"] * r["masters"] / 500,
            "idle_cpu": r["idle"]["cpu_pct_of_one_core"] < TARGETS["idle_cpu_pct"],
            "pss_per_master": r["pss_per_master_mib"]["mean"] <= TARGETS["pss_per_master_mib"],
            "status": r["status_ms"]["max"] < TARGETS["status_s"] * 1000,
            "masters": r["masters_ms"]["max"] < TARGETS["masters_s"] * 1000,
            "failover": r["failover_100_s"] is not None and r["failover_100_s"] < TARGETS["failover_s"],
            "stop": r["stop_s"] < TARGETS["stop_s"] and r["processes_left_after_stop"] == 0}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--masters", default="50,200,500")
    ap.add_argument("--idle-s", type=float, default=30.0)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "scale.json"))
    args = ap.parse_args()
    started = time.monotonic()
    sim_pss, sim_private = proc_stats.probe_kib(ROOT, with_neonize=False)
    nz_pss, nz_private = proc_stats.probe_kib(ROOT, with_neonize=True)
    neonize = {"lone_session_imports_pss_mib": round(sim_pss / 1024, 1),
               "lone_with_neonize_client_pss_mib": round(nz_pss / 1024, 1),
               "neonize_adds_pss_mib": round((nz_pss - sim_pss) / 1024, 1),
               "neonize_adds_private_dirty_mib": round((nz_private - sim_private) / 1024, 1)}
    print(f"neonize client (no network): +{neonize['neonize_adds_pss_mib']} MiB PSS in a lone process, "
          f"+{neonize['neonize_adds_private_dirty_mib']} MiB private (what each further master adds)")
    levels = []
    for n in [int(x) for x in args.masters.split(",")]:
        r = run(n, args.idle_s)
        r["meets_targets"] = meets(r)
        report(r)
        levels.append(r)
    result = {"bench": "scale", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "host": {**host_info(), "load_1m_at_end": round(os.getloadavg()[0], 2)},
              "transport": "sim", "targets": TARGETS, "neonize": neonize, "levels": levels,
              "wall_s": round(time.monotonic() - started, 1)}
    write_json(args.out, result, newline=True)
    print(f"wrote {os.path.relpath(args.out, ROOT)} ({result['wall_s']} s)")
    return 0 if all(all(r["meets_targets"].values()) for r in levels) else 1


if __name__ == "__main__":
    sys.exit(main())
