"""How fast a supervised child is back after SIGKILL.

For each of N kills: SIGKILL the child's pid, then poll the supervisor's
status until a new process runs, and ask that process a Ping; the sample is
the time from the kill to the Pong. Kills are spaced past the child's backoff
reset, so every restart is a "first" restart (immediate). In the same run,
the baseline: thespian's bare createActor of a plain actor plus its first
ask round trip, from outside the system.

    /tmp/venv/bin/python bench/restart.py [--kills 50] [--out bench/results/restart.json]

Runs its own actor system on a free loopback port with a temporary home, and
removes both at the end, also after an error.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import signal
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from thespian.actors import ActorExitRequest  # noqa: E402

from daemon import system  # noqa: E402
from common import summary_ms, write_json  # noqa: E402
from runtime.ports import free_port  # noqa: E402
from supervision.spec import Backoff, ChildSpec, SupervisorArgs, SupervisorFlags  # noqa: E402
from supervision_actors import (Echo, Ping, Pong, Worker, actor_path, ask, kill_seen_processes,  # noqa: E402
                                start_root, statuses, wait_until)

TARGET_P99_MS = 100.0
BACKOFF = Backoff(min_s=0.05, max_s=0.2, jitter=0.2, reset_after_s=0.2)


def measure_restarts(asys, root, kills: int) -> tuple[list[float], list[float]]:
    """[kill → Pong from the replacement], [kill → replacement visible as running]."""
    to_pong, to_running = [], []
    for _ in range(kills):
        current = wait_until(lambda: (s := statuses(asys, root)["echo"]).state == "running" and s)
        # space the kills past the backoff reset, so this restart is immediate
        time.sleep(max(0.0, BACKOFF.reset_after_s + 0.05 - (current.uptime_s or 0.0)))
        t0 = time.perf_counter()
        os.kill(current.pid, signal.SIGKILL)
        while True:
            status = statuses(asys, root)["echo"]
            if status.state == "running" and status.pid != current.pid:
                break
        t_running = time.perf_counter()
        reply = ask(asys, status.address, Ping)
        t_pong = time.perf_counter()
        if not isinstance(reply, Pong) or reply.pid != status.pid:
            raise RuntimeError(f"replacement did not answer: {reply!r}")
        to_pong.append(t_pong - t0)
        to_running.append(t_running - t0)
    return to_pong, to_running


def measure_bare_create(asys, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        t0 = time.perf_counter()
        addr = asys.createActor(Echo)
        reply = ask(asys, addr, Ping)
        samples.append(time.perf_counter() - t0)
        if not isinstance(reply, Pong):
            raise RuntimeError(f"bare actor did not answer: {reply!r}")
        asys.tell(addr, ActorExitRequest())
    return samples


def run(kills: int) -> dict:
    home = tempfile.mkdtemp(prefix="whitecaves-restart-bench-")
    asys = None
    try:
        asys = system.start(home, free_port(1))
        args = SupervisorArgs(SupervisorFlags("one_for_one", intensity=10 * kills, period_s=1.0),
                              [ChildSpec("echo", actor_path(Worker), {}, backoff=BACKOFF)])
        root = start_root(asys, args)
        measure_bare_create(asys, 3)  # warm-up: first imports and connections
        to_pong, to_running = measure_restarts(asys, root, kills)
        bare = measure_bare_create(asys, kills)
    finally:
        if asys is not None:
            try:
                asys.shutdown()
            except Exception:
                pass
        kill_seen_processes()
        shutil.rmtree(home, ignore_errors=True)
    restart, baseline = summary_ms(to_pong), summary_ms(bare)
    return {
        "what": "SIGKILL of a supervised child until its replacement answers a Ping",
        "kills": kills,
        "backoff": BACKOFF.__dict__,
        "restart_to_answer_ms": restart,
        "restart_to_running_status_ms": summary_ms(to_running),
        "bare_create_and_first_ask_ms": baseline,
        "ratio_p50": restart["p50"] / baseline["p50"],
        "ratio_p99": restart["p99"] / baseline["p99"],
        "target_p99_ms": TARGET_P99_MS,
        "target_met": restart["p99"] < TARGET_P99_MS,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.platform()},
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def table(result: dict) -> str:
    rows = [("restart: kill → replacement answers", result["restart_to_answer_ms"]),
            ("restart: kill → status shows new pid", result["restart_to_running_status_ms"]),
            ("thespian bare createActor + first ask", result["bare_create_and_first_ask_ms"])]
    lines = [f"| {'measure':40} | {'p50 ms':>7} | {'p99 ms':>7} | {'max ms':>7} |",
             f"|{'-' * 42}|{'-' * 9}|{'-' * 9}|{'-' * 9}|"]
    lines += [f"| {name:40} | {s['p50']:7.1f} | {s['p99']:7.1f} | {s['max']:7.1f} |" for name, s in rows]
    lines.append(f"\nratio restart/bare: p50 {result['ratio_p50']:.2f}×, p99 {result['ratio_p99']:.2f}×; "
                 f"target p99 < {result['target_p99_ms']:.0f} ms: {'met' if result['target_met'] else 'NOT met'} "
                 f"({result['kills']} kills; with 50 samples p99 is the maximum)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "restart.json"))
    opts = parser.parse_args()
    result = run(opts.kills)
    print(table(result))
    write_json(opts.out, result)
    print(f"\nwritten to {opts.out}")


if __name__ == "__main__":
    main()
