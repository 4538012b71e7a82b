"""Every frame to the daemon is authenticated with the home's key before it is unpickled
(runtime/wire.py): a local process without the key cannot make the daemon run code."""
from __future__ import annotations

import glob
import os
import pickle
import socket
import stat

import pytest

from daemon_support import listening_sockets, poll
from runtime import wire


class RunsCommand:
    """A pickle whose loading runs a shell command: what an attacker would send."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def frame(payload: bytes) -> bytes:
    """A frame as thespian's TCP transport writes it (streamBuffer.toSendBuffer): b'<len>>' + bytes."""
    return b"%d>" % len(payload) + payload


def send_frame(port: int, payload: bytes) -> bytes:
    """Send one frame to 127.0.0.1:port and return the receiver's answer (its ack frame)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
        c.sendall(frame(payload))
        return c.recv(4096)


def own_port(pid: int, admin_pid: int) -> int:
    """The port an actor process listens on (it also inherits the listening sockets of the
    process that forked thespian's Admin, which only that one serves)."""
    inherited = {p for _, _, p in listening_sockets([admin_pid])}
    ports = [p for _, _, p in listening_sockets([pid]) if p not in inherited]
    assert len(ports) == 1, listening_sockets([pid])
    return ports[0]


# --- the key and the signed serializer --------------------------------------------------------

def test_key_is_created_once_private_and_reused(tmp_path):
    home = str(tmp_path / "home")
    key = wire.load_or_create_key(home)
    assert len(key) == 32
    mode = stat.S_IMODE(os.stat(wire.key_path(home)).st_mode)
    assert mode == 0o600
    assert wire.load_or_create_key(home) == key
    assert wire.load_or_create_key(str(tmp_path / "other")) != key
    assert glob.glob(wire.key_path(home) + "*") == [wire.key_path(home)]  # no temp file left


def test_missing_or_short_key_is_a_clear_error(tmp_path):
    with pytest.raises(wire.WireKeyError, match="wire.key does not exist"):
        wire.load_key(str(tmp_path))
    os.makedirs(tmp_path / "run")
    (tmp_path / "run" / "wire.key").write_bytes(b"short")
    with pytest.raises(wire.WireKeyError, match="not a key of 32 bytes"):
        wire.load_key(str(tmp_path))


def test_signed_frames_round_trip_and_anything_else_is_refused_before_unpickling(tmp_path):
    signed = wire.SignedPickle(os.urandom(32))
    assert signed.loads(signed.dumps({"a": [1, 2]})) == {"a": [1, 2]}
    assert "<key>" in repr(signed)

    marker = tmp_path / "ran"
    evil = pickle.dumps(RunsCommand(f"touch {marker}"))
    good = signed.dumps(RunsCommand(f"touch {marker}"))
    tampered = good[:-2] + bytes([good[-2] ^ 1]) + good[-1:]
    other_key = wire.SignedPickle(os.urandom(32)).dumps(RunsCommand(f"touch {marker}"))
    for bad in (evil, tampered, other_key, b"", b"x" * 31):
        with pytest.raises(wire.Unauthenticated):
            signed.loads(bad)
    assert not marker.exists()


# --- against a real daemon ------------------------------------------------------------------

def test_unauthenticated_pickle_to_admin_and_actor_ports_does_not_run(daemon, tmp_path):
    status = daemon.json("daemon", "status")
    balancer = next(a for a in status["actors"] if a["name"] == "balancer")
    targets = {"admin": daemon.port, "balancer": own_port(balancer["pid"], status["pid"])}

    for name, port in targets.items():
        marker = tmp_path / f"{name}-ran"
        answer = send_frame(port, pickle.dumps(RunsCommand(f"touch {marker}")))
        assert b"ACK+DATAERR" in answer  # refused, and the process is alive to say so
        assert not marker.exists(), f"the unauthenticated pickle ran in the {name}"

    # the daemon keeps working, and says what it dropped (never the key)
    after = daemon.json("daemon", "status")
    assert [a["pid"] for a in after["actors"]] == [a["pid"] for a in status["actors"]]
    thesp = open(os.path.join(daemon.home, "logs", "thespian.log"), encoding="utf-8", errors="replace").read()
    for pid in (status["pid"], balancer["pid"]):
        assert f"dropped an unauthenticated frame of " in thesp and f"(pid {pid})" in thesp
    # the Admin's structured line reaches whitecaves.log (it handled `status` since)
    from runtime import logs
    poll("the Admin's warning in whitecaves.log",
         lambda: [ln for ln in logs.read_lines(daemon.home)
                  if ln.get("logger") == wire.LOGGER and f"(pid {status['pid']})" in ln["event"]])
    key = wire.load_key(daemon.home)
    for name in glob.glob(os.path.join(daemon.home, "logs", "*")):
        data = open(name, "rb").read()
        assert key not in data and key.hex().encode() not in data, name


def test_the_same_frame_signed_with_the_homes_key_is_accepted(daemon, tmp_path):
    """The control: the frames above were well formed, only the tag was missing."""
    status = daemon.json("daemon", "status")
    balancer = next(a for a in status["actors"] if a["name"] == "balancer")
    port = own_port(balancer["pid"], status["pid"])
    marker = tmp_path / "signed-ran"
    signed = wire.SignedPickle(wire.load_key(daemon.home))
    send_frame(port, signed.dumps(RunsCommand(f"touch {marker}")))
    poll("the signed pickle to run", marker.exists, timeout=5)
    daemon.json("daemon", "status")


def test_cli_without_the_key_is_refused_with_the_reason(daemon):
    path = wire.key_path(daemon.home)
    key = open(path, "rb").read()
    os.unlink(path)
    try:
        r = daemon.cli("daemon", "status", check=False)
        assert r.returncode == 1
        assert "wire.key does not exist" in r.stderr and "Traceback" not in r.stderr
    finally:
        with open(path, "wb") as f:
            f.write(key)
        os.chmod(path, 0o600)
    daemon.json("daemon", "status")
