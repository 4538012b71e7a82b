"""Idle CPU before and after the idle-cost changes, back to back on the same host.

Extracts an earlier commit of this repository (default: the one before the HA
monitor's pidfd watch) into a temporary directory, puts the current bench/
files beside it, and runs bench/scale.py there and here with the same number
of masters; writes both runs' idle figures to bench/results/scale_idle.json.

    python bench/idle_compare.py [--before 96b6073] [--masters 200] [--idle-s 30]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from common import host_info, write_json  # noqa: E402

BENCH_FILES = ("scale.py", "proc_stats.py", "common.py", "balancer_support.py")


def scale_run(tree: str, masters: int, idle_s: float, out: str) -> dict:
    subprocess.run([sys.executable, "bench/scale.py", "--masters", str(masters), "--idle-s", str(idle_s),
                    "--out", out], cwd=tree, check=False, timeout=1800)
    with open(out) as f:
        return json.load(f)["levels"][0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="96b6073")
    ap.add_argument("--masters", type=int, default=200)
    ap.add_argument("--idle-s", type=float, default=30.0)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "scale_idle.json"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="wc-bench-before-")
    try:
        archive = subprocess.run(["git", "archive", args.before], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        for name in BENCH_FILES:
            shutil.copy(os.path.join(ROOT, "bench", name), os.path.join(tmp, "bench", name))
        before = scale_run(tmp, args.masters, args.idle_s, os.path.join(tmp, "before.json"))
        after = scale_run(ROOT, args.masters, args.idle_s, os.path.join(tmp, "after.json"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = {"bench": "scale_idle", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "host": host_info(), "masters": args.masters, "before_commit": args.before,
              "before": before["idle"], "after": after["idle"]}
    write_json(args.out, result, newline=True)
    print(f"{args.masters} masters idle: before {before['idle']['cpu_pct_of_one_core']} % of a core "
          f"{before['idle']['by_role_pct']}\n  after {after['idle']['cpu_pct_of_one_core']} % "
          f"{after['idle']['by_role_pct']}")


if __name__ == "__main__":
    main()
