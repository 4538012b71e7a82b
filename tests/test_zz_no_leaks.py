"""Runs last (file order): no process started by this suite may still be alive."""
import os

from runtime import procs


def test_no_process_of_the_suite_is_left(tmp_path_factory):
    base = os.path.abspath(str(tmp_path_factory.getbasetemp()))
    leaked = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        for var in env:
            if var.startswith(procs.MARK_ENV.encode() + b"=" + base.encode()) and procs.alive(int(entry)):
                leaked.append((int(entry), var.decode(errors="replace")))
    procs.kill_all([p for p, _ in leaked])
    assert not leaked, f"processes left running by the suite: {leaked}"
