"""Failover time: from a master's fault to all its conversations re-owned, and to the first hand-over note.

For 100, 1,000 and 10,000 conversations: a real daemon on the sim with two
linked masters (primary and backup); the primary's conversations are seeded
straight into LMDB; then the sim logs the primary out and the clock starts.
- reowned_s: until the failover event is visible in LMDB (it is written in the
  same transaction that moves every conversation, so all are re-owned then);
- first_note_s: until the first hand-over note from the backup is in a
  customer's inbox (sim timestamp);
- all_notes_s: until every customer has its note (the outbox draining);
- txn_s: the failover transaction alone, as the balancer measured it.
Target: reowned_s < 1 s at 10,000.

    python bench/failover.py [--out bench/results/failover.json] [--sizes 100,1000,10000]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from balancer_support import ROOT, BenchDaemon  # noqa: E402
from common import host_info, write_json  # noqa: E402

from storage import Store, conversations, events  # noqa: E402
from transports.sim.control import ControlClient  # noqa: E402

PRIMARY, BACKUP = "+971505760056", "+971553633595"


def run(n: int) -> dict:
    d = BenchDaemon(f"wc-bench-failover-{n}-")
    try:
        d.start([(PRIMARY, "Primary", "primary"), (BACKUP, "Backup", "backup")])
        customers = [f"+4477{i:08d}" for i in range(n)]
        store = Store(d.home)

        def seed(txn):
            for c in customers:
                conversations.put(txn, conversations.Conversation(c, PRIMARY, messages=1, last_ts=time.time()))
        store.write(seed)
        sim = ControlClient("127.0.0.1", d.sim_port)
        outbound_before = sim.status()["counts"].get("outbound", 0)
        first = customers[0]     # notes go out in customer order: this one is first
        t0 = time.time()
        sim.fault(PRIMARY, "logout")
        reowned = first_note = None
        event = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (reowned is None or first_note is None):
            if reowned is None:
                with store.read() as txn:
                    found = events.recent(txn, limit=1, kinds=("failover",))
                if found:
                    reowned, event = time.time() - t0, found[0]
            if first_note is None:
                notes = [m for m in sim.inbox(first) if m["from"] == BACKUP]
                if notes:
                    first_note = notes[0]["ts"] - t0
            time.sleep(0.002)
        all_notes = None
        while time.monotonic() < deadline:
            if sim.status()["counts"].get("outbound", 0) >= outbound_before + n:
                all_notes = time.time() - t0
                break
            time.sleep(0.05)
        with store.read() as txn:
            still = len(conversations.all(txn, master=PRIMARY))
        store.close()
        sim.close()
        return {"conversations": n, "reowned_s": round(reowned, 4) if reowned else None,
                "first_note_s": round(first_note, 4) if first_note else None,
                "all_notes_s": round(all_notes, 3) if all_notes else None,
                "txn_s": event.data.get("duration_s") if event else None,
                "moved": event.data.get("count") if event else None, "left_with_failed": still}
    finally:
        d.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "failover.json"))
    ap.add_argument("--sizes", default="100,1000,10000")
    args = ap.parse_args()
    started = time.monotonic()
    rows = []
    for n in [int(x) for x in args.sizes.split(",")]:
        r = run(n)
        rows.append(r)
        print(f"{n:>6} conversations: re-owned {r['reowned_s']} s (txn {r['txn_s']} s), first note "
              f"{r['first_note_s']} s, all notes {r['all_notes_s']} s, moved {r['moved']}, "
              f"left with the failed master {r['left_with_failed']}")
    result = {"bench": "failover", "what": "sim logout of the primary -> conversations re-owned by the backup",
              "target": "reowned_s < 1 at 10000", "levels": rows,
              "host": host_info(),
              "wall_s": round(time.monotonic() - started, 1)}
    write_json(args.out, result)
    print(f"wrote {args.out} ({result['wall_s']} s)")


if __name__ == "__main__":
    main()
