"""Memory and CPU of processes, read from /proc (Linux): PSS and CPU ticks.

PSS (proportional set size) shares each page among the processes mapping it,
so the PSS of every process of a daemon adds up to what the daemon costs the
host; RSS would count the interpreter's shared pages once per process.
"""
from __future__ import annotations

import os
import subprocess
import sys

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def pss_kib(pid: int) -> int | None:
    """The process's PSS in KiB (/proc/PID/smaps_rollup), None when it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_ticks(pid: int) -> int | None:
    """utime + stime of the process so far, in clock ticks; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[11]) + int(fields[12])   # fields 14 and 15 of proc(5)
    except (OSError, IndexError, ValueError):
        return None


def cpu_seconds(pids) -> dict[int, float]:
    """{pid: CPU seconds used so far} of those still alive."""
    out = {}
    for pid in pids:
        ticks = cpu_ticks(pid)
        if ticks is not None:
            out[pid] = ticks / TICKS_PER_S
    return out


# A fresh interpreter that imports what a session process imports, optionally creates a neonize
# client (no network: NewClient opens its sqlite store and loads the Go library), then prints its PSS.
_PROBE = r"""
import os, sys, tempfile
sys.path.insert(0, sys.argv[1])
import actors.session  # what every session process has loaded
if sys.argv[2] == "neonize":
    from transports.neonize.binding import load
    nz = load()
    client = nz.NewClient(os.path.join(tempfile.mkdtemp(), "probe.sqlite"), uuid="971500000000", new_device=True)
with open("/proc/self/smaps_rollup") as f:
    kib = {l.split(":")[0]: int(l.split()[1]) for l in f if l.split()[-1] == "kB"}
print(kib["Pss"], kib["Private_Dirty"])
"""


def probe_kib(root: str, with_neonize: bool) -> tuple[int, int]:
    """(PSS, Private_Dirty) in KiB of a lone interpreter with a session's imports, with or without
    a neonize client. Private_Dirty is what each further such process adds (the Go library's
    code is shared between processes once several map it; its heap is not)."""
    r = subprocess.run([sys.executable, "-c", _PROBE, root, "neonize" if with_neonize else "sim"],
                       capture_output=True, text=True, timeout=120, cwd=root)
    if r.returncode != 0:
        raise RuntimeError(f"PSS probe failed: {r.stderr.strip()[-500:]}")
    pss, private = r.stdout.strip().splitlines()[-1].split()
    return int(pss), int(private)
