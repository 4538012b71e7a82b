"""What the benchmarks share: nearest-rank percentiles, millisecond summaries, the host, the JSON file.

Imported as `common` (a bench runs as `python bench/NAME.py`, so bench/ is on sys.path).
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import shutil
import statistics
import tempfile

SUMMARY_FIELDS = ("p50", "p99", "min", "max", "mean")


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile: one of the samples (with 50 samples, p99 is the maximum)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def summary_ms(samples: list[float], ndigits: int | None = None,
               fields: tuple[str, ...] = SUMMARY_FIELDS) -> dict:
    """Samples in seconds → {"n", then `fields` in that order} in milliseconds.

    `fields` are among p50, p99, min, max, mean; each is rounded to `ndigits`
    (None: not rounded). No samples → {"n": 0}.
    """
    if not samples:
        return {"n": 0}
    ms = [s * 1000 for s in samples]
    stats = {"p50": lambda: percentile(ms, 50), "p99": lambda: percentile(ms, 99), "min": lambda: min(ms),
             "max": lambda: max(ms), "mean": lambda: statistics.fmean(ms)}
    out: dict = {"n": len(ms)}
    for field in fields:
        value = stats[field]()
        out[field] = value if ndigits is None else round(value, ndigits)
    return out


def host_info() -> dict:
    """The "host" entry of a result: Python version, CPU count, machine."""
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}


def write_json(path: str, doc: dict, newline: bool = False) -> None:
    """Write a result (indent 2) to `path`, creating its directory; `newline`: end the file with one."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, indent=2)
        if newline:
            f.write("\n")


@contextlib.contextmanager
def bare_actor_system(prefix: str):
    """A plain multiprocTCPBase system on a temporary home and a free port, for baselines
    measured beside the daemon; shut down and its processes killed by pid afterwards."""
    from daemon import system
    from runtime import procs
    from runtime.ports import free_port

    home = tempfile.mkdtemp(prefix=prefix)
    asys = None
    try:
        asys = system.start(home, free_port())
        yield asys
    finally:
        if asys is not None:
            try:
                asys.shutdown()
            except Exception:
                pass
        procs.kill_all(procs.processes_of(home))
        shutil.rmtree(home, ignore_errors=True)
