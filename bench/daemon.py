"""How long the daemon takes to start, to answer `daemon status`, and to stop.

Every figure is a whole `whitecaves` process, as a user runs it (interpreter
start-up, imports, the request, exit): `daemon start --transport sim` and
`daemon stop` over several start/stop cycles, and `daemon status --json` over
20 runs against one running daemon. In the same run, the baseline: a bare
`python -c "import cli"` (what any `whitecaves` command costs before it
does anything).

    python bench/daemon.py [--cycles 5] [--status-runs 20] [--out bench/results/daemon.json]

Uses a temporary home and a free loopback port, and ends every process of
that home at the end, also after an error.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from common import summary_ms, write_json  # noqa: E402
from runtime import procs  # noqa: E402
from runtime.ports import free_port  # noqa: E402

TARGETS_S = {"start": 1.0, "status_p99": 0.3, "stop": 2.0}


def timed(cmd: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} → exit {r.returncode}: {r.stderr.strip()}")
    return elapsed, r


def status_in_process(home: str, port: int, runs: int) -> list[float]:
    """The daemon's share of `daemon status`: connect, ask the tree, disconnect (no interpreter start)."""
    from runtime import lifecycle
    from daemon.client import Where

    where = Where(home=home, port=port)
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        assert lifecycle.status(where)["running"] is True
        samples.append(time.perf_counter() - t0)
    return samples


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--status-runs", type=int, default=20)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "daemon.json"))
    args = ap.parse_args()

    exe = os.path.join(os.path.dirname(sys.executable), "whitecaves")
    cli = [exe] if os.path.exists(exe) else [sys.executable, "-m", "cli"]
    home = tempfile.mkdtemp(prefix="wc-bench-daemon-")
    port = free_port()
    env = dict(os.environ, WHITECAVES_HOME=home, WHITECAVES_PORT=str(port),
               # as on a user's machine, compiled modules are cached (here in the temp home, so
               # the work tree stays clean); PYTHONDONTWRITEBYTECODE would recompile every run
               PYTHONPYCACHEPREFIX=os.path.join(home, "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    starts, stops, statuses, imports, in_process = [], [], [], [], []
    processes = 0
    try:
        timed(cli + ["daemon", "start", "--transport", "sim"], env)  # warm-up: fills the bytecode cache
        timed(cli + ["daemon", "status"], env)
        timed(cli + ["daemon", "stop"], env)
        for _ in range(5):
            imports.append(timed([sys.executable, "-c", "import cli"], env)[0])
        for cycle in range(args.cycles):
            starts.append(timed(cli + ["daemon", "start", "--transport", "sim"], env)[0])
            if cycle == 0:
                for _ in range(args.status_runs):
                    elapsed, r = timed(cli + ["daemon", "status", "--json"], env)
                    assert json.loads(r.stdout)["running"] is True
                    statuses.append(elapsed)
                processes = len(procs.processes_of(home))
                in_process = status_in_process(home, port, args.status_runs)
            stops.append(timed(cli + ["daemon", "stop"], env)[0])
            left = procs.processes_of(home)
            assert not left, f"processes left after stop: {left}"
    finally:
        procs.kill_all(procs.processes_of(home))
        shutil.rmtree(home, ignore_errors=True)

    result = {
        "bench": "daemon",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"python": platform.python_version(), "cpus": os.cpu_count(),
                 "load_1m": round(os.getloadavg()[0], 2)},
        "transport": "sim",
        "bytecode_cached": True,
        "daemon_processes": processes,
        "start_ms": summary_ms(starts, 1),
        "status_ms": summary_ms(statuses, 1),
        "stop_ms": summary_ms(stops, 1),
        "status_in_process_ms": summary_ms(in_process, 1),
        "baseline_import_cli_ms": summary_ms(imports, 1),
        "targets_ms": {k: v * 1000 for k, v in TARGETS_S.items()},
    }
    result["meets_targets"] = {
        "start": result["start_ms"]["max"] < TARGETS_S["start"] * 1000,
        "status_p99": result["status_ms"]["p99"] < TARGETS_S["status_p99"] * 1000,
        "stop": result["stop_ms"]["max"] < TARGETS_S["stop"] * 1000,
    }
    write_json(args.out, result, newline=True)

    print(f"daemon ({processes} processes with --transport sim), whole CLI processes, load {result['host']['load_1m']}:")
    for key, label in (("start_ms", "start"), ("status_ms", "status"), ("stop_ms", "stop"),
                       ("status_in_process_ms", "status without interpreter start"),
                       ("baseline_import_cli_ms", "baseline: python -c 'import cli'")):
        s = result[key]
        print(f"  {label:34s} p50 {s['p50']:7.1f} ms  p99 {s['p99']:7.1f} ms  max {s['max']:7.1f} ms  (n={s['n']})")
    print(f"  targets: start < 1000 ms, status p99 < 300 ms, stop < 2000 ms → {result['meets_targets']}")
    print(f"  written to {os.path.relpath(args.out, ROOT)}")
    return 0 if all(result["meets_targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
