"""Outbox throughput: delivered messages/s across 3 sim masters, rate limits off, beside raw thespian.

(Since issue 15 each session sends on its own send worker thread, off the actor's thread.)

- raw: one actor→actor hop of plain thespian (multiprocTCPBase), windows of
  64 like the balancer's, measured in the same run;
- delivered: a campaign of N contacts queued with `whitecaves campaign send`
  (durable outbox in LMDB), dispatched by the balancer to 3 sessions, each send
  acknowledged by the sim and removed from the outbox; the clock runs from the
  command's return to the sim having received all N;
- with media: in the same run, a campaign of N/5 contacts with a MEDIA_KB
  document (stored once in the home, its bytes read and carried to the sim for
  each send) queued beside a text campaign of N, both draining together; the
  sim counts the media sends apart.
Targets: >= 1,000 msg/s and >= 30 % of the raw rate.

    python bench/outbox.py [--out bench/results/outbox.json] [--messages 5000]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from balancer_support import ROOT, BenchDaemon  # noqa: E402
from common import bare_actor_system, host_info, write_json  # noqa: E402

from transports.sim.control import ControlClient  # noqa: E402

MASTERS = [("+971505760056", "One", "primary"), ("+971553633595", "Two", "primary"),
           ("+971526113301", "Three", "primary")]


def raw_rate(n: int, window: int = 64) -> float:
    from raw_actors import Done, Driver, Run, Sink

    with bare_actor_system("wc-bench-raw-") as asys:
        sink, driver = asys.createActor(Sink), asys.createActor(Driver)
        asys.ask(driver, Run(sink, 500, window), 30)      # warm-up: connections
        done = asys.ask(driver, Run(sink, n, window), 60)
        assert isinstance(done, Done), done
        return n / done.seconds


MEDIA_KB = 100


def mixed_rate(d, sim, n_text: int, n_media: int) -> dict:
    """A text campaign and a document campaign queued together; each kind's time to drain."""
    text_csv, media_csv = os.path.join(d.home, "text.csv"), os.path.join(d.home, "media.csv")
    with open(text_csv, "w") as f:
        f.write("phone\n" + "".join(f"+4479{i:08d}\n" for i in range(n_text)))
    with open(media_csv, "w") as f:
        f.write("phone\n" + "".join(f"+4477{i:08d}\n" for i in range(n_media)))
    brochure = os.path.join(d.home, "brochure.pdf")
    with open(brochure, "wb") as f:
        f.write(b"%PDF-1.4\n" + os.urandom(MEDIA_KB * 1024))
    counts = sim.status()["counts"]
    before, before_media = counts.get("outbound", 0), counts.get("outbound_media", 0)
    t0 = time.time()
    d.cli("campaign", "send", "--file", media_csv, "--text", "The brochure", "--document", brochure,
          "--name", "bench-media")
    d.cli("campaign", "send", "--file", text_csv, "--text", "Our new tower", "--name", "bench-text")
    t_queued = time.time()
    deadline, media_done_s = time.monotonic() + 120, None
    while time.monotonic() < deadline:
        counts = sim.status()["counts"]
        got, media = counts.get("outbound", 0) - before, counts.get("outbound_media", 0) - before_media
        if media >= n_media and media_done_s is None:
            media_done_s = time.time() - t0   # from the first command: the media went first
        if got >= n_text + n_media:
            break
        time.sleep(0.02)
    seconds = time.time() - t_queued
    return {"text": n_text, "media": n_media, "media_kb": MEDIA_KB, "delivered": got,
            "media_delivered": media, "queue_commands_s": round(t_queued - t0, 3),
            "seconds": round(seconds, 3), "msg_per_s": round(got / seconds, 1),
            "media_seconds": round(media_done_s or time.time() - t0, 3),
            "media_per_s": round(media / (media_done_s or time.time() - t0), 1),
            "media_files_stored": len(os.listdir(os.path.join(d.home, "media")))}


def delivered_rate(n: int) -> dict:
    d = BenchDaemon("wc-bench-outbox-")
    try:
        d.start(MASTERS)
        sim = ControlClient("127.0.0.1", d.sim_port)
        path = os.path.join(d.home, "contacts.csv")
        with open(path, "w") as f:
            f.write("phone\n" + "".join(f"+4478{i:08d}\n" for i in range(n)))
        before = sim.status()["counts"].get("outbound", 0)
        t_cmd = time.time()
        d.cli("campaign", "send", "--file", path, "--text", "Our new menu is out", "--name", "bench")
        t0 = time.time()
        deadline = time.monotonic() + 90
        got = 0
        while time.monotonic() < deadline:
            got = sim.status()["counts"].get("outbound", 0) - before
            if got >= n:
                break
            time.sleep(0.02)
        seconds = time.time() - t0
        metrics = d.json("load", "metrics")
        mixed = mixed_rate(d, sim, n, n // 5)
        sim.close()
        return {"mixed": mixed, "messages": n, "delivered": got, "seconds": round(seconds, 3),
                "queue_command_s": round(t0 - t_cmd, 3), "msg_per_s": round(got / seconds, 1),
                "balance_quality": metrics["balance_quality"],
                "per_master": {r["master"]: r["messages"] for r in metrics["masters"]},
                "left_in_outbox": metrics["queue_depth"]}
    finally:
        d.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "outbox.json"))
    ap.add_argument("--messages", type=int, default=5000)
    args = ap.parse_args()
    started, load_before = time.monotonic(), os.getloadavg()   # the machine is shared
    raw = raw_rate(20000)
    print(f"raw thespian, one hop, windows of 64: {raw:.0f} msg/s")
    out = delivered_rate(args.messages)
    ratio = out["msg_per_s"] / raw
    print(f"outbox: {out['delivered']}/{out['messages']} delivered in {out['seconds']} s = "
          f"{out['msg_per_s']} msg/s ({ratio:.0%} of raw), balance quality {out['balance_quality']}, "
          f"per master {out['per_master']}")
    m = out.pop("mixed")
    print(f"text + media in the same run: {m['delivered']}/{m['text'] + m['media']} in {m['seconds']} s = "
          f"{m['msg_per_s']} msg/s; the {m['media']} documents of {m['media_kb']} KB in {m['media_seconds']} s "
          f"= {m['media_per_s']}/s; files stored: {m['media_files_stored']}")
    result = {"bench": "outbox", "what": "campaign of N contacts through the durable outbox, 3 sim masters, "
              "rate limits off", "raw_thespian_msg_per_s": round(raw, 1), "delivered": out,
              "ratio_of_raw": round(ratio, 3), "text_and_media": m, "targets": {"msg_per_s": 1000, "ratio_of_raw": 0.30},
              "host": host_info(), "load_average": {"before": load_before, "after": os.getloadavg()},
              "wall_s": round(time.monotonic() - started, 1)}
    write_json(args.out, result)
    print(f"wrote {args.out} ({result['wall_s']} s)")


if __name__ == "__main__":
    main()
