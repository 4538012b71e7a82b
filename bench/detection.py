"""How fast the HA monitor declares a master `failed`: after SIGKILL, SIGSTOP (a hang) and a logout.

For each heartbeat interval (0.2 s and 1 s) a daemon runs on the simulated
network with two linked masters. Each sample: wait until the first master is
healthy, note the time, do the harm, and read the time of the health event
→ failed that the monitor wrote to LMDB (same host clock). Then let it
recover (the supervisor restarts a killed session, the monitor restarts a
hung one, a relink after a logout) and go again.

How each is detected: SIGKILL — the session's pidfd wakes the monitor
(runtime/pidwatch.py) and, when its process is gone, it asks the
masters supervisor whether it stopped it on purpose; a heartbeat from a new
pid (the supervisor restarts the session in milliseconds) also fails it;
logout — the session's DeviceStateChanged(logged_out); hang — missed
heartbeats, read from the heartbeat board (runtime/beatboard.py) every
twentieth of a heartbeat (failed at 3 missed plus a quarter heartbeat of grace).

Targets: SIGKILL and logout p99 < 100 ms, hang p99 < 3.5 heartbeats.

    python bench/detection.py [--samples 8] [--out bench/results/detection.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT]

from common import percentile, write_json  # noqa: E402
from runtime import procs  # noqa: E402
from runtime.ports import free_port  # noqa: E402
from storage import Store, events, masters  # noqa: E402
from transports.sim.control import ControlClient  # noqa: E402

A, B = "+971505760056", "+971553633595"
TARGET_FAST_MS = 100.0
TARGET_HANG_HEARTBEATS = 3.5


def summary(samples_s: list[float], heartbeat_s: float) -> dict:
    ms = [s * 1000 for s in samples_s]
    return {"n": len(ms), "p50_ms": round(percentile(ms, 50), 1), "p99_ms": round(percentile(ms, 99), 1),
            "max_ms": round(max(ms), 1), "mean_ms": round(statistics.fmean(ms), 1),
            "p50_heartbeats": round(percentile(samples_s, 50) / heartbeat_s, 2),
            "p99_heartbeats": round(percentile(samples_s, 99) / heartbeat_s, 2)}


class Bench:
    def __init__(self, heartbeat_s: float):
        self.heartbeat_s = heartbeat_s
        self.home = tempfile.mkdtemp(prefix="wc-detect-")
        self.port = free_port()
        with open(os.path.join(self.home, "config.toml"), "w") as f:
            f.write(f"[health]\nheartbeat_s = {heartbeat_s}\n"
                    "[backoff]\nmin_s = 0.05\nmax_s = 0.5\nreset_after_s = 0.3\n"
                    "[limits]\nenabled = false\n")
        self.env = dict(os.environ, WHITECAVES_HOME=self.home, WHITECAVES_PORT=str(self.port))

    def cli(self, *args: str) -> None:
        with open(os.path.join(self.home, "cli.out"), "a") as f:   # a file: daemon children inherit it
            r = subprocess.run([sys.executable, "-m", "cli", *args], stdin=subprocess.DEVNULL, stdout=f,
                               stderr=f, timeout=60, cwd=ROOT, env=self.env)
        if r.returncode != 0:
            raise RuntimeError(f"whitecaves {' '.join(args)} → exit {r.returncode}; see {self.home}/cli.out")

    def start(self) -> None:
        self.cli("daemon", "start", "--transport", "sim")
        for phone, name in ((A, "Sales"), (B, "Support")):
            self.cli("master", "add", phone, "--name", name)
            self.cli("link", "master", phone)
        self.store = Store(self.home)
        self.sim = ControlClient("127.0.0.1", self.port + 1)

    def stop(self) -> None:
        try:
            self.sim.close()
            self.store.close()
        except Exception:
            pass
        try:
            self.cli("daemon", "stop")
        except Exception:
            pass
        procs.kill_all(procs.processes_of(self.home))
        shutil.rmtree(self.home, ignore_errors=True)

    def healthy_pid(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.store.read() as txn:
                m = masters.get(txn, A)
            if m.health == "healthy" and m.device_state == "connected" and m.pid and procs.alive(m.pid):
                return m.pid
            time.sleep(0.02)
        raise RuntimeError(f"{A} not healthy within {timeout} s")

    def failed_after(self, t0: float, timeout: float = 30.0) -> tuple[float, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.store.read() as txn:
                found = [e for e in events.recent(txn, limit=50, kinds=("health",), master=A, since_ts=t0)
                         if e.data.get("new") == "failed"]
            if found:
                return found[-1].ts - t0, found[-1].data.get("reason", "")
            time.sleep(0.005)
        raise RuntimeError(f"{A} not failed within {timeout} s")

    def sample(self, harm: str) -> tuple[float, str]:
        pid = self.healthy_pid()
        time.sleep(random.random() * self.heartbeat_s)   # anywhere between two heartbeats
        t0 = time.time()
        if harm == "sigkill":
            os.kill(pid, signal.SIGKILL)
        elif harm == "sigstop":
            os.kill(pid, signal.SIGSTOP)
        else:
            self.sim.fault(A, "logout")
        took = self.failed_after(t0)
        if harm == "logout":
            self.cli("relink", "master", A)
        return took


def detected_by(reasons: list[str]) -> dict[str, int]:
    """Which path saw it: a heartbeat from the restarted session, the pid check, the device state, missed heartbeats."""
    out: dict[str, int] = {}
    for r in reasons:
        key = ("new session's heartbeat" if "restarted as" in r else "pid check + supervisor" if "ended" in r
               else "missed heartbeats" if "missed" in r else r)
        out[key] = out.get(key, 0) + 1
    return out


def run(heartbeat_s: float, samples: int) -> dict:
    bench = Bench(heartbeat_s)
    try:
        bench.start()
        out = {}
        for harm in ("sigkill", "logout", "sigstop"):
            n = samples if harm != "sigstop" or heartbeat_s < 1 else max(3, samples // 2)
            taken = [bench.sample(harm) for _ in range(n)]
            out[harm] = summary([t for t, _ in taken], heartbeat_s)
            out[harm]["detected_by"] = detected_by([r for _, r in taken])
            print(f"  heartbeat {heartbeat_s:g} s · {harm:7s} → {out[harm]}", flush=True)
        return out
    finally:
        bench.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "detection.json"))
    args = ap.parse_args()
    started = time.monotonic()
    results = {}
    for hb in (0.2, 1.0):
        results[str(hb)] = run(hb, args.samples)
    checks = {}
    for hb, r in results.items():
        checks[f"sigkill_p99_under_{TARGET_FAST_MS:g}ms@{hb}"] = r["sigkill"]["p99_ms"] < TARGET_FAST_MS
        checks[f"logout_p99_under_{TARGET_FAST_MS:g}ms@{hb}"] = r["logout"]["p99_ms"] < TARGET_FAST_MS
        checks[f"hang_p99_under_{TARGET_HANG_HEARTBEATS:g}_heartbeats@{hb}"] = (
            r["sigstop"]["p99_heartbeats"] < TARGET_HANG_HEARTBEATS)
    doc = {"bench": "detection", "host": platform.node(), "python": platform.python_version(),
           "cpus": os.cpu_count(), "samples": args.samples, "results_by_heartbeat_s": results,
           "targets": {"sigkill_logout_p99_ms": TARGET_FAST_MS, "hang_p99_heartbeats": TARGET_HANG_HEARTBEATS},
           "checks": checks, "duration_s": round(time.monotonic() - started, 1)}
    write_json(args.out, doc)
    print(json.dumps(checks, indent=2))
    print(f"written {args.out} in {doc['duration_s']} s")


if __name__ == "__main__":
    main()
