"""Shared by the neonize tests: running cases in a child pytest, and the fake Go side.

Importing neonize starts its Go runtime, which must never live in the suite's own
process: actors forked from it would inherit a runtime that hangs in connect()
(docs/architecture.md, "Facts about the parts"). So tests that import neonize run in a child pytest; the
suite sees one runner test per file.
"""
from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

CHILD_FLAG = "WHITECAVES_NEONIZE_CHILD"
IN_CHILD = os.environ.get(CHILD_FLAG) == "1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = "test_neonize_cases_in_a_child_process"

PHONE = "+971501234567"


def run_in_child(path: str, timeout: float = 120.0) -> str:
    """Run one test file in a child pytest (its own process group); return its output."""
    env = dict(os.environ, **{CHILD_FLAG: "1"})
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", path],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"child pytest still running after {timeout} s:\n{out}")
    assert proc.returncode == 0, f"child pytest failed:\n{out}"
    passed = re.search(r"(\d+) passed", out)
    assert passed and int(passed[1]) > 0 and not re.search(r"\d+ skipped", out), out
    return out


def collect_where_runnable(namespace: dict) -> None:
    """The runner is collected in the suite, every other test only in the child."""
    for name, test in list(namespace.items()):
        if name.startswith("test_") and (name == RUNNER) == IN_CHILD:
            test.__test__ = False


# --- the fake Go side: goneonize's C functions, at the ctypes boundary --------------------

class Connection:
    """One call of goneonize's blocking Neonize(): its callbacks and subscriptions."""

    def __init__(self, go: "FakeGo", args: tuple):
        (self.db, self.uuid, jidbuf, jidsize, self.new_device, _level, self.qr_cb, self.login_cb,
         self.event_cb, _log_cb, subscribers, n_subscribers, *_rest) = args
        self.go = go
        self.jid = go.N.JID.FromString(bytes(jidbuf)[:jidsize]) if jidsize else None
        self.subscribed = set(bytes(subscribers)[:n_subscribers])
        self.stopped = threading.Event()

    def deliver(self, event) -> bool:
        """As goneonize's CallbackFunction: only subscribed types, from a Go thread."""
        code = self.go.EVENT_TO_INT[type(event)]
        if code not in self.subscribed:
            return False
        data = event.SerializePartialToString()
        buf = ctypes.create_string_buffer(data, len(data))
        self._on_go_thread(lambda: self.event_cb(self.uuid, ctypes.addressof(buf), len(data), code))
        return True

    def qr(self, code: str) -> None:
        self._on_go_thread(lambda: self.qr_cb(self.uuid, code.encode()))

    def login_status(self, status: str) -> None:
        self._on_go_thread(lambda: self.login_cb(self.uuid, status.encode()))

    @staticmethod
    def _on_go_thread(call) -> None:
        thread = threading.Thread(target=call)
        thread.start()
        thread.join()


class FakeGo:
    """Stands in for the goneonize functions NeonizeTransport reaches through neonize."""

    def __init__(self, N):
        from neonize.events import EVENT_TO_INT
        self.N, self.EVENT_TO_INT = N, EVENT_TO_INT
        self.devices = f"{PHONE[1:]}:7@s.whatsapp.net,Push, Inc.,,true".encode()
        self.connect_error = b""          # what Neonize() returns when it fails at once
        self.ignore_stop = False          # like a stop during QR pairing: Neonize() never returns
        self.connected = self.logged_in = False
        self.send_reply = lambda to, msg: N.SendMessageReturnFunction(
            SendResponse=N.SendResponse(ID="3EB0SENT", Timestamp=1, ServerID=1))
        self.pair_reply = N.PairPhoneReturnFunction(Code="ABCD-1234")
        self.logout_error = b""
        self.connections: list[Connection] = []
        self.calls: list[tuple] = []
        self.new_connection = threading.Event()
        self.release = threading.Event()  # ends everything still blocked, at teardown

    def Neonize(self, *args):
        conn = Connection(self, args)
        self.connections.append(conn)
        self.new_connection.set()
        if self.connect_error:
            return self.connect_error
        while not self.release.is_set() and not conn.stopped.wait(0.05):
            pass
        return b""

    def Stop(self, uuid):
        self.calls.append(("Stop", uuid))
        if not self.ignore_stop:
            for conn in self.connections:
                conn.stopped.set()
        return b""

    def SendMessage(self, uuid, jid_bytes, jid_len, msg_bytes, msg_len):
        from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message
        to = self.N.JID.FromString(jid_bytes[:jid_len])
        msg = Message.FromString(msg_bytes[:msg_len])
        self.calls.append(("SendMessage", to, msg))
        return self.send_reply(to, msg).SerializePartialToString()

    def Upload(self, uuid, data, size, media_type):
        """A media upload: answered with made-up media-server fields."""
        import hashlib
        self.calls.append(("Upload", bytes(data[:size]), media_type))
        digest = hashlib.sha256(bytes(data[:size])).digest()
        return self.N.UploadReturnFunction(UploadResponse=self.N.UploadResponse(
            url="https://mmg.whatsapp.net/fake", DirectPath="/v/fake", Handle="", MediaKey=b"k" * 32,
            FileEncSHA256=digest, FileSHA256=digest, FileLength=size)).SerializeToString()

    def SendChatPresence(self, uuid, jid_bytes, jid_len, state, media):
        self.calls.append(("SendChatPresence", self.N.JID.FromString(jid_bytes[:jid_len]), state,
                           time.monotonic()))
        return b""

    def MarkRead(self, uuid, ids, timestamp, chat, chat_len, sender, sender_len, receipt):
        self.calls.append(("MarkRead", ids.decode().split(" "), self.N.JID.FromString(chat[:chat_len]),
                           receipt))
        return b""

    def PairPhone(self, uuid, payload, size):
        self.calls.append(("PairPhone", self.N.PairPhoneParams.FromString(payload[:size])))
        return self.pair_reply.SerializeToString()

    def Logout(self, uuid):
        self.calls.append(("Logout", uuid))
        return self.logout_error

    def IsConnected(self, uuid):
        return self.connected

    def IsLoggedIn(self, uuid):
        return self.logged_in

    def GetAllDevices(self, db, log_cb):
        return self.devices

    def wait_connection(self, n: int, timeout: float = 3.0) -> Connection:
        deadline = time.monotonic() + timeout
        while len(self.connections) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(self.connections) >= n, f"expected {n} Neonize() calls, got {len(self.connections)}"
        return self.connections[n - 1]


# --- a session store that looks linked, for the real library with no network ---------------

_LINKED_STORE_SCRIPT = r"""
import os, sqlite3, sys
from transports.neonize import binding
store, digits = sys.argv[1], sys.argv[2]
nz = binding.load()
assert binding.stored_device(nz, store, digits) is None    # creates whatsmeow's tables
r = os.urandom
with sqlite3.connect(store) as db:
    db.execute("INSERT INTO whatsmeow_device (jid, registration_id, noise_key, identity_key, "
               "signed_pre_key, signed_pre_key_id, signed_pre_key_sig, adv_key, adv_details, "
               "adv_account_sig, adv_account_sig_key, adv_device_sig, push_name) "
               "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
               (f"{digits}:7@s.whatsapp.net", 1234, r(32), r(32), r(32), 1, r(64), r(32), b"",
                r(64), r(32), r(64), "White Caves"))
assert binding.stored_device(nz, store, digits).User == digits
"""


def make_linked_store(store: str, phone: str) -> None:
    """A sqlite session store holding a device for `phone`, as if it had been linked.

    Its keys are random: WhatsApp would refuse them, but with no network whatsmeow never
    gets that far. Made in a fresh interpreter: neonize must not load in the caller.
    """
    os.makedirs(os.path.dirname(store), exist_ok=True)
    subprocess.run([sys.executable, "-c", _LINKED_STORE_SCRIPT, store, phone[1:]], cwd=ROOT,
                   env=dict(os.environ, PYTHONPATH=ROOT), check=True, timeout=60,
                   capture_output=True)
