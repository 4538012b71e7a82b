"""Managing masters through the real CLI: every error path is clear and changes nothing."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

from conftest import ROOT
from test_sessions_e2e import M1, M2, master, sim_daemon, state_is, wait_for  # noqa: F401

KEYS = ["phone", "name", "role", "priority", "weight", "region", "device_state", "health",
        "conversations", "pid"]


def fails(d, *args, code=None):
    r = d.cli(*args, check=False, input="")   # stdin is a pipe: not a terminal
    assert r.returncode != 0, f"{args} succeeded:\n{r.stdout}"
    if code is not None:
        assert r.returncode == code, (r.returncode, r.stderr)
    return r.stderr


def link_on_a_terminal(d, answer: str) -> tuple[int, str]:
    """`link master` with no phone, its stdin a terminal; types `answer` at the prompt."""
    master_fd, slave_fd = pty.openpty()
    env = dict(os.environ, WHITECAVES_HOME=d.home, WHITECAVES_PORT=str(d.port))
    proc = subprocess.Popen([sys.executable, "-m", "cli", "link", "master"], stdin=slave_fd,
                            stdout=slave_fd, stderr=slave_fd, cwd=ROOT, env=env)
    os.close(slave_fd)
    out, answered, deadline = b"", False, time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master_fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master_fd, 4096)
                except OSError:   # the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            if not answered and b"Link which master" in out:
                os.write(master_fd, answer.encode() + b"\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        return proc.wait(10), out.decode(errors="replace")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master_fd)


def test_master_management_and_its_error_paths(sim_daemon):
    d = sim_daemon
    # A bad number is refused with the expected form; nothing is registered.
    err = fails(d, "master", "add", "0501234567", "--name", "X", code=2)
    assert "E.164" in err and "+971501234567" in err
    err = fails(d, "master", "add", M2, "--name", "X", "--region", "Dubai", code=2)
    assert "two-letter" in err
    assert d.json("masters") == []
    fails(d, "link", "master", code=1)   # nothing to link yet

    # Spaces, dashes and a leading 00 are normalised.
    d.cli("master", "add", "00971 50-576 0056", "--name", "Sales")
    d.cli("master", "add", M2, "--name", "Support", "--role", "backup", "--priority", "2",
          "--weight", "0.5", "--region", "ae")
    err = fails(d, "master", "add", M2, "--name", "Again", code=1)
    assert "already registered" in err
    rows = d.json("masters")
    assert [list(r) for r in rows] == [KEYS, KEYS]
    support = next(r for r in rows if r["phone"] == M2)
    assert {k: support[k] for k in ("name", "role", "priority", "weight", "region")} == \
        {"name": "Support", "role": "backup", "priority": 2, "weight": 0.5, "region": "AE"}
    assert isinstance(support["pid"], int) and support["conversations"] == 0

    # Which master to link: never a guess.
    err = fails(d, "link", "master", code=2)
    assert M1 in err and M2 in err
    err = fails(d, "link", "master", "+971500000000")
    assert "unknown master +971500000000" in err and M1 in err and M2 in err
    assert "E.164" in fails(d, "link", "master", "12345", code=2)
    status, out = link_on_a_terminal(d, "1")
    assert status == 0 and f"master {M1} is linked and connected" in out, out
    assert master(d, M1)["device_state"] == "connected"

    # Linking a banned account fails with the reason, and the exit status says so.
    d.sim.fault(M1, "ban", seconds=2)
    wait_for("banned", lambda: state_is(d, M1, "banned"))
    err = fails(d, "relink", "master", M1)
    assert "banned" in err
    d.sim.heal(M1)
    d.cli("relink", "master", M1)

    # A stopped master is not linked behind the operator's back.
    d.cli("master", "stop", M2)
    err = fails(d, "link", "master", M2)
    assert "stopped" in err and f"master start {M2}" in err

    d.cli("master", "remove", M2)
    assert [r["phone"] for r in d.json("masters")] == [M1]
    err = fails(d, "master", "remove", M2)
    assert "unknown master" in err and M1 in err
