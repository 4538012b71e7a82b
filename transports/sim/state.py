"""What the simulated network knows, with no sockets in sight.

Accounts (our masters) with their device token and ban, the inbound messages
each account has not acknowledged yet (held while it is offline, redelivered
after a reconnect), every customer's inbox, and the idempotency keys already
seen. With a `state_dir` every change is written to a small LMDB environment
before the caller acts on it, so a restarted server carries on where the last
one stopped. That environment belongs to the sim alone, never to the daemon.

LMDB is opened without fsync: the data reaches the OS page cache at commit,
which survives a SIGKILL of the server (what the tests and the demo do) and
keeps a commit in the tens of microseconds at benchmark rates.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import struct
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

import lmdb
import msgpack

ACK_TIMES_KEPT = 100_000
LID_SERVER = "@lid"
_SEQ = struct.Struct(">Q")   # big-endian: keys sort in arrival order


@dataclass
class Account:
    phone: str
    token: str | None = None       # the linked device's token; None = not linked
    ever_paired: bool = False
    ban_until: float = 0.0         # Unix time; 0 = not banned
    hung: bool = False             # fault: not persisted, a restart heals it
    latency_ms: int = 0            # fault: not persisted either
    slow_send_s: float = 0.0       # fault: each send's answer held this long; not persisted
    connects: int = 0              # pair/connect attempts seen, for tests: not persisted
    # message_id -> (seq, record), in arrival order: held or unacknowledged
    pending: dict[str, tuple[int, dict]] = field(default_factory=dict)

    def banned(self, now: float | None = None) -> bool:
        return self.ban_until > (time.time() if now is None else now)


def _key(owner: str, tail: bytes) -> bytes:
    return owner.encode() + b"\0" + tail


def _split(key: bytes) -> tuple[str, bytes]:
    owner, tail = key.split(b"\0", 1)
    return owner.decode(), tail


def new_message_id() -> str:
    # Random, so ids never repeat across a server started without state.
    return "SIM" + secrets.token_hex(8).upper()


class SimState:
    def __init__(self, state_dir: str | None = None):
        self.accounts: dict[str, Account] = {}
        self.inboxes: dict[str, list[dict]] = {}
        self.sent_by_key: dict[tuple[str, str], str] = {}   # (account, key) -> message id
        self.activity: dict[str, list[dict]] = {}              # customer -> typing, read receipts
        self.counts: Counter = Counter()                     # since this process started
        # message id -> when the account acknowledged it (the benchmark's session share);
        # in memory, the most recent ACK_TIMES_KEPT only
        self.ack_times: OrderedDict[str, float] = OrderedDict()
        self.media_blobs: dict[str, bytes] = {}             # sha256 hex -> file sent this run
        self.revealed: set[str] = set()                      # customers whose LID maps to a phone
        self.unregistered: set[str] = set()                  # numbers not on WhatsApp (this run)
        self._seq = 0
        self._env = None
        if state_dir:
            os.makedirs(state_dir, exist_ok=True)
            self._env = lmdb.open(state_dir, map_size=1 << 30, max_dbs=8,
                                  sync=False, metasync=False, mode=0o600)
            self._db = {name: self._env.open_db(name.encode())
                        for name in ("accounts", "pending", "inbox", "idem", "meta", "media",
                                     "lids")}
            self._load()

    # -- accounts and pairing ---------------------------------------------

    def account(self, phone: str, create: bool = False) -> Account | None:
        acc = self.accounts.get(phone)
        if acc is None and create:
            acc = self.accounts[phone] = Account(phone)
        return acc

    def pair(self, phone: str) -> str:
        """Link a new device to `phone`; the previous token stops working."""
        acc = self.account(phone, create=True)
        acc.token = secrets.token_urlsafe(16)
        acc.ever_paired = True
        self._put_account(acc)
        return acc.token

    def token_valid(self, phone: str, token: str | None) -> bool:
        acc = self.accounts.get(phone)
        return bool(acc and token and acc.token == token)

    def logout(self, phone: str) -> None:
        acc = self.account(phone, create=True)
        acc.token = None
        self._put_account(acc)

    def ban(self, phone: str, seconds: float) -> float:
        acc = self.account(phone, create=True)
        acc.ban_until = time.time() + seconds
        self._put_account(acc)
        return acc.ban_until

    def heal(self, phone: str) -> None:
        """Clear hang, latency and ban. A logout stays until the next pairing."""
        acc = self.account(phone, create=True)
        acc.hung = False
        acc.latency_ms = 0
        acc.slow_send_s = 0.0
        if acc.ban_until:
            acc.ban_until = 0.0
            self._put_account(acc)

    # -- customer -> account ----------------------------------------------

    def customer_send(self, sender: str, to: str, text: str, ts: float | None = None,
                      **extra) -> dict:
        """Hold a message for account `to` until it acknowledges it.

        `ts`: when it was written (default now). `extra`: what else the inbound push
        carries (kind, media, location, contact, from_me, from_lid: transports/sim/messaging.py).
        """
        acc = self.account(to, create=True)
        self._seq += 1
        record = {"message_id": new_message_id(), "from": sender, "text": text,
                  "ts": time.time() if ts is None else ts, **extra}
        acc.pending[record["message_id"]] = (self._seq, record)
        self.counts["inbound"] += 1
        if self._env:
            with self._env.begin(write=True) as txn:
                txn.put(_key(to, _SEQ.pack(self._seq)), msgpack.packb(record), db=self._db["pending"])
                txn.put(b"seq", _SEQ.pack(self._seq), db=self._db["meta"])
        return record

    def ack(self, phone: str, message_id: str) -> bool:
        acc = self.accounts.get(phone)
        entry = acc.pending.pop(message_id, None) if acc else None
        if entry is None:
            return False
        self.counts["acked"] += 1
        self.ack_times[message_id] = time.time()
        if len(self.ack_times) > ACK_TIMES_KEPT:
            self.ack_times.popitem(last=False)
        if self._env:
            with self._env.begin(write=True) as txn:
                txn.delete(_key(phone, _SEQ.pack(entry[0])), db=self._db["pending"])
        return True

    def pending(self, phone: str) -> list[dict]:
        acc = self.accounts.get(phone)
        return [record for _, record in acc.pending.values()] if acc else []

    # -- media and LIDs -----------------------------------------------------

    def put_media(self, data: bytes) -> str:
        """Keep a sent file; its id is its sha256 (hex)."""
        media_id = hashlib.sha256(data).hexdigest()
        if media_id not in self.media_blobs:
            self.media_blobs[media_id] = data
            if self._env:
                with self._env.begin(write=True) as txn:
                    txn.put(media_id.encode(), data, db=self._db["media"])
        return media_id

    def media(self, media_id: str) -> bytes | None:
        """A kept file (read from disk after a restart: files are not loaded at start)."""
        data = self.media_blobs.get(media_id)
        if data is None and self._env:
            with self._env.begin() as txn:
                stored = txn.get(media_id.encode(), db=self._db["media"])
            data = bytes(stored) if stored is not None else None
        return data

    @staticmethod
    def lid_of(phone: str) -> str:
        """The customer's LID: a stable 15-digit number derived from the phone."""
        digits = int(hashlib.sha256(phone.encode()).hexdigest(), 16) % 10 ** 14
        return f"1{digits:014d}{LID_SERVER}"

    def reveal(self, phone: str) -> str:
        """From now on the phone behind this customer's LID is known; returns the LID."""
        if phone not in self.revealed:
            self.revealed.add(phone)
            if self._env:
                with self._env.begin(write=True) as txn:
                    txn.put(phone.encode(), b"1", db=self._db["lids"])
        return self.lid_of(phone)

    def phone_for_lid(self, lid: str) -> str:
        """The phone behind a LID once revealed, else ''."""
        return next((p for p in self.revealed if self.lid_of(p) == lid), "")

    # -- account -> customer ----------------------------------------------

    def account_send(self, phone: str, to: str, text: str, key: str,
                     extra: dict | None = None) -> tuple[str, bool]:
        """Put a message in `to`'s inbox; returns (message id, was a duplicate).

        `extra`: a file's fields ({"kind", "media": {"id", "sha256", ...}}), as checked by
        MessagingOps._message_fields.

        A key seen before returns the first message's id and delivers nothing.
        """
        if key and (phone, key) in self.sent_by_key:
            self.counts["duplicates_dropped"] += 1
            return self.sent_by_key[(phone, key)], True
        self._seq += 1
        record = {"id": new_message_id(), "from": phone, "text": text, "ts": time.time(), **(extra or {})}
        self.inboxes.setdefault(to, []).append(record)
        if key:
            self.sent_by_key[(phone, key)] = record["id"]
        self.counts["outbound"] += 1
        if extra:
            self.counts["outbound_media"] += 1
        if self._env:
            with self._env.begin(write=True) as txn:
                txn.put(_key(to, _SEQ.pack(self._seq)), msgpack.packb(record), db=self._db["inbox"])
                if key:
                    txn.put(_key(phone, key.encode()), record["id"].encode(), db=self._db["idem"])
                txn.put(b"seq", _SEQ.pack(self._seq), db=self._db["meta"])
        return record["id"], False

    def inbox(self, customer: str) -> list[dict]:
        return [dict(r) for r in self.inboxes.get(customer, [])]

    # -- persistence --------------------------------------------------------

    def _put_account(self, acc: Account) -> None:
        if self._env:
            value = {"token": acc.token, "ever_paired": acc.ever_paired, "ban_until": acc.ban_until}
            with self._env.begin(write=True) as txn:
                txn.put(acc.phone.encode(), msgpack.packb(value), db=self._db["accounts"])

    def _load(self) -> None:
        with self._env.begin() as txn:
            seq = txn.get(b"seq", db=self._db["meta"])
            self._seq = _SEQ.unpack(seq)[0] if seq else 0
            for key, value in txn.cursor(db=self._db["accounts"]):
                v = msgpack.unpackb(value)
                self.accounts[key.decode()] = Account(key.decode(), v["token"], v["ever_paired"],
                                                      v["ban_until"])
            for key, value in txn.cursor(db=self._db["pending"]):   # sorted: arrival order
                phone, tail = _split(key)
                record = msgpack.unpackb(value)
                acc = self.account(phone, create=True)
                acc.pending[record["message_id"]] = (_SEQ.unpack(tail)[0], record)
            for key, value in txn.cursor(db=self._db["inbox"]):
                customer, _ = _split(key)
                self.inboxes.setdefault(customer, []).append(msgpack.unpackb(value))
            for key, _ in txn.cursor(db=self._db["lids"]):
                self.revealed.add(key.decode())
            for key, value in txn.cursor(db=self._db["idem"]):
                phone, tail = _split(key)
                self.sent_by_key[(phone, tail.decode())] = value.decode()

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None
