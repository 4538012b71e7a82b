"""A home is private (runtime/home.py): another local user can neither list it nor read the
store, the logs or the wire key, and a home left wider is fixed at `daemon start`, with a warning."""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile

import pytest

from conftest import FAST_CONFIG, Daemon
from daemon_support import poll
from runtime import logs, procs
from runtime.ports import free_port
from transports.sim.control import ControlClient

PEER = "wcpeer"  # the other local user
M1, CUSTOMER = "+971505760056", "+447700900001"


@pytest.fixture
def peer():
    """(uid, gid) of a second local user, created if needed (we run as root in CI)."""
    if os.geteuid() != 0 or not shutil.which("useradd"):
        pytest.skip("needs root and useradd to act as a second local user")
    try:
        pw = pwd.getpwnam(PEER)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", PEER],
                       check=True, capture_output=True)
        pw = pwd.getpwnam(PEER)
    return pw.pw_uid, pw.pw_gid


@pytest.fixture
def shared_parent():
    """A directory every user can traverse (like /home/alice on many hosts): pytest's own
    tmp_path is 0700, which would hide the home from the other user whatever its mode."""
    parent = tempfile.mkdtemp(prefix="wc-shared-", dir="/tmp")
    os.chmod(parent, 0o755)
    home = os.path.join(parent, "home")
    try:
        yield parent
    finally:
        procs.kill_all(procs.processes_of(home))
        shutil.rmtree(parent, ignore_errors=True)


def as_peer(peer, *argv: str) -> subprocess.CompletedProcess:
    uid, gid = peer
    return subprocess.run(list(argv), user=uid, group=gid, extra_groups=[], capture_output=True,
                          text=True, timeout=10, cwd="/")


def modes(home: str) -> dict[str, int]:
    out = {}
    for root, dirs, files in os.walk(home):
        for name in [root] + [os.path.join(root, f) for f in files]:
            out[os.path.relpath(name, home)] = stat.S_IMODE(os.lstat(name).st_mode)
    return out


def test_another_user_cannot_list_the_home_nor_read_store_logs_or_key(peer, shared_parent):
    home = os.path.join(shared_parent, "home")
    d = Daemon(home, free_port())
    # the user's first command creates the home; then their config and a daemon with traffic
    assert d.cli("masters", check=False).returncode == 3  # not running yet
    assert os.path.isdir(home)
    fd = os.open(os.path.join(home, "config.toml"), os.O_WRONLY | os.O_CREAT, 0o600)
    # small logs: the rotated backups must be private too
    os.write(fd, (FAST_CONFIG + "[sim]\nkeepalive_s = 0.5\n[logging]\nmax_bytes = 1000\nbackups = 2\n").encode())
    os.close(fd)
    started = d.start()
    assert "warning" not in started.stderr  # a home whitecaves made needs no fixing
    sim = ControlClient("127.0.0.1", d.sim_port)
    try:
        d.cli("master", "add", M1, "--name", "Sales")
        d.cli("link", "master", M1)
        sim.send(CUSTOMER, M1, "!ping")
        poll("the pong", lambda: any(m["text"] == "pong" for m in sim.inbox(CUSTOMER)))
        # and a frame thespian refuses, so that its own log file (THESPLOG_FILE) exists too
        with socket.create_connection(("127.0.0.1", d.port), timeout=5) as c:
            c.sendall(b"5>hello")
            c.recv(100)
        poll("thespian's log", lambda: os.path.exists(os.path.join(home, "logs", "thespian.log")))
        poll("a rotated log", lambda: os.path.exists(os.path.join(home, "logs", "whitecaves.log.1")))
    finally:
        sim.close()

    seen = modes(home)
    wide = {p: f"{m:04o}" for p, m in seen.items() if m & 0o077}
    assert not wide, wide
    for must in ("store/data.mdb", "store/lock.mdb", "logs/whitecaves.log", "logs/thespian.log",
                 "logs/whitecaves.log.1", "run/wire.key", "run/daemon.json"):
        assert must in seen, sorted(seen)

    r = as_peer(peer, "ls", home)
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
    for target in ("store/data.mdb", "logs/whitecaves.log", "logs/thespian.log", "run/wire.key"):
        r = as_peer(peer, "cat", os.path.join(home, target))
        assert r.returncode != 0 and "Permission denied" in r.stderr, (target, r)
    d.stop()


def test_a_wider_home_is_fixed_at_start_with_a_warning(shared_parent):
    home = os.path.join(shared_parent, "home")
    os.makedirs(os.path.join(home, "store"))
    os.chmod(home, 0o755)
    os.chmod(os.path.join(home, "store"), 0o755)
    old = os.path.join(home, "store", "notes.txt")
    with open(old, "w") as f:
        f.write("a customer's message\n")
    os.chmod(old, 0o644)

    d = Daemon(home, free_port())
    r = d.start()
    assert "warning:" in r.stderr and "was readable by other users" in r.stderr, r.stderr
    assert "0755" in r.stderr and "made private" in r.stderr
    assert r.stderr.count("\n") == 1  # one line
    logged = [ln for ln in logs.read_lines(home) if ln.get("event") == "home_made_private"]
    assert len(logged) == 1 and logged[0]["level"] == "warning" and logged[0]["paths"] == 3
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(home, "store")).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(old).st_mode) == 0o600
    assert open(old).read() == "a customer's message\n"  # fixed, not replaced
    d.stop()

    again = d.start()  # now private: nothing to say
    assert "warning" not in again.stderr
    d.stop()


def test_a_qr_code_saved_by_the_cli_is_private(tmp_path):
    """`link` saves the QR as <home>/run/qr-<phone>.png from the CLI process, whose umask the
    home set (sim pairing shows no QR, so the CLI's own code path is run directly)."""
    import sys
    home = tmp_path / "home"
    code = ("import sys; from runtime.home import create; from runtime.qr import save_png; "
            "h = create(sys.argv[1]); print(save_png('2@pairing-data', h + '/run/qr-+971505760056.png'))")
    from conftest import ROOT
    out = subprocess.run([sys.executable, "-c", code, str(home)], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(home / "run").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(home).st_mode) == 0o700
