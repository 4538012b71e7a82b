"""Runs last (file order): no process started by this suite may still be alive."""
import os

from runtime import procs


def test_no_process_of_the_suite_is_left(tmp_path_factory):
    base = os.path.abspath(str(tmp_path_factory.getbasetemp())) + os.sep
    leaked = [(pid, home) for pid, home in procs.marks().items()
              if (home + os.sep).startswith(base) and procs.alive(pid)]
    procs.kill_all([p for p, _ in leaked])
    assert not leaked, f"processes left running by the suite: {leaked}"
