"""The simulated WhatsApp network: an asyncio TCP server on loopback.

A test double and the demo's network, never WhatsApp itself. Every frame is
handled to the end on the event loop (no awaits inside a handler), so the
state in transports/sim/state.py needs no locks. Outgoing frames go through a
per-connection queue with a due time: that is how a `latency` fault delays an
account's traffic without reordering it, and how a `hang` fault swallows it.

Usable three ways: `SimServer(...).serve_forever()` on the calling thread,
`start_in_thread()` (the daemon's supervised child, tests), and `serve()`,
the blocking entry point for `python -m transports.sim serve` and the CLI.
"""
from __future__ import annotations

import asyncio
import ipaddress
import secrets
import signal
import threading
import time

from transports.sim import protocol as p
from transports.sim.messaging import MessagingOps
from transports.sim.outbound import OutboundOps
from transports.sim.state import Account, SimState


class _Conn:
    """One client connection; `account` is set once it is that account's stream."""

    def __init__(self, writer: asyncio.StreamWriter):
        self.writer = writer
        self.account: str | None = None
        self.out: asyncio.Queue = asyncio.Queue()   # (due loop time, bytes | None=close)
        self.closed = False


def _check_loopback(host: str) -> None:
    # Nothing of this project listens beyond loopback (README.md, "Configuration").
    try:
        ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"the simulated network only listens on loopback, not {host!r}")


class SimServer(MessagingOps, OutboundOps):   # message ops: transports/sim/messaging.py, outbound.py
    def __init__(self, host: str = "127.0.0.1", port: int = 0, state_dir: str | None = None):
        _check_loopback(host)
        self.host = host
        self.port = port              # the real port once listening (port=0 picks one)
        self.state_dir = state_dir
        self.state: SimState | None = None
        self._conns: dict[str, _Conn] = {}    # account -> its stream
        self._all: set[_Conn] = set()
        self._handlers: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._want_stop = threading.Event()   # close() before the loop existed
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------

    def serve_forever(self) -> None:
        """Listen and serve on this thread until close(). Raises OSError if it cannot bind."""
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
            raise
        finally:
            self._ready.set()

    def start_in_thread(self, timeout: float = 10.0) -> threading.Thread:
        """Serve on a daemon thread; returns once listening (raises what stopped it otherwise)."""
        def run() -> None:
            try:
                self.serve_forever()
            except BaseException:
                pass   # kept in self._error for the caller below
        self._thread = threading.Thread(target=run, name=f"sim-server:{self.port}", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("simulated network did not start in time")
        if self._error is not None:
            raise self._error
        return self._thread

    def close(self) -> None:
        """Stop serving and release the state. Safe from any thread, and twice."""
        self._want_stop.set()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:
                pass   # the loop finished meanwhile
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)

    @property
    def running(self) -> bool:
        return self._ready.is_set() and self._error is None and self._stop is not None \
            and not self._stop.is_set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._want_stop.is_set():
            self._stop.set()
        self.state = SimState(self.state_dir)
        try:
            server = await asyncio.start_server(self._serve_conn, self.host, self.port)
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            async with server:
                await self._stop.wait()
                server.close()
                for conn in list(self._all):
                    self._close(conn)
                if self._handlers:   # let them see EOF and finish, not be cancelled
                    await asyncio.wait(self._handlers, timeout=2)
        finally:
            self.state.close()

    # -- connections ----------------------------------------------------------

    async def _serve_conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Conn(writer)
        self._all.add(conn)
        task = asyncio.current_task()
        self._handlers.add(task)
        writing = asyncio.create_task(self._write_loop(conn))
        decoder = p.Decoder()
        try:
            while not conn.closed:
                data = await reader.read(65536)
                if not data:
                    break
                for frame in decoder.feed(data):
                    if conn.closed:
                        break
                    self._dispatch(conn, frame)
        except (ConnectionError, p.ProtocolError, asyncio.CancelledError):
            pass
        finally:
            self._close(conn)
            writing.cancel()
            self._handlers.discard(task)

    async def _write_loop(self, conn: _Conn) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                due, data = await conn.out.get()
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                if conn.closed:
                    return
                if data is None:
                    self._close(conn)
                    return
                conn.writer.write(data)
                if conn.out.empty():
                    await conn.writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass

    def _emit(self, conn: _Conn, data: bytes | None, phone: str | None = None) -> None:
        """Queue a frame (None: close once what is queued is out) with the account's faults."""
        if conn.closed:
            return
        acc = self.state.accounts.get(phone or conn.account or "")
        if acc is not None and acc.hung and data is not None:
            return   # a hung account hears nothing
        delay = acc.latency_ms / 1000 if acc is not None else 0.0
        conn.out.put_nowait((self._loop.time() + delay, data))

    def _close(self, conn: _Conn, abrupt: bool = False) -> None:
        if conn.closed:
            return
        conn.closed = True
        self._all.discard(conn)
        if conn.account and self._conns.get(conn.account) is conn:
            del self._conns[conn.account]
        if abrupt:
            conn.writer.transport.abort()   # like a network drop: unsent data is lost
        else:
            conn.writer.close()

    # -- dispatch -------------------------------------------------------------

    def _dispatch(self, conn: _Conn, frame: dict) -> None:
        req_id, op = frame.get("id"), frame.get("op")
        handler = getattr(self, f"_op_{op}", None) if isinstance(op, str) else None
        if handler is None:
            self._emit(conn, p.error(req_id, p.UNKNOWN_OP, f"unknown op {op!r}"))
            return
        phone = conn.account or frame.get("phone")
        phone = phone if isinstance(phone, str) else None
        if op in _ACCOUNT_OPS and phone:
            acc = self.state.accounts.get(phone)
            if acc is not None and acc.hung:
                return   # a hung account's requests are never answered
        try:
            handler(conn, req_id, frame)
        except p.BadRequest as exc:
            self._emit(conn, p.error(req_id, exc.code, str(exc)), phone)

    def _refuse_if_banned(self, conn: _Conn, req_id, acc: Account) -> bool:
        if not acc.banned():
            return False
        self._emit(conn, p.push("banned", code=403, expires_ts=acc.ban_until), acc.phone)
        self._emit(conn, p.error(req_id, p.BANNED, "account is banned"), acc.phone)
        self._emit(conn, None, acc.phone)
        return True

    def _bind(self, conn: _Conn, req_id, phone: str, result: dict) -> None:
        """Make `conn` the account's stream: Connected, then every unacknowledged inbound."""
        old = self._conns.get(phone)
        if old is not None and old is not conn:
            self._emit(old, p.push("replaced"))
            self._emit(old, None)
            old.account = None   # its queued frames keep the account's latency no more
        self._conns[phone] = conn
        conn.account = phone
        self._emit(conn, p.push("connected"))
        self._push_pending(conn, phone)
        self._emit(conn, p.reply(req_id, result))

    # account ops ---------------------------------------------------------

    def _op_pair(self, conn: _Conn, req_id, frame: dict) -> None:
        phone = p.require_phone(frame, "phone")
        acc = self.state.account(phone, create=True)
        acc.connects += 1
        if self._refuse_if_banned(conn, req_id, acc):
            return
        if frame.get("phone_code"):
            code = secrets.token_hex(4).upper()
            self._emit(conn, p.push("pairing_code", code=f"{code[:4]}-{code[4:]}"), phone)
        else:
            self._emit(conn, p.push("qr", data=f"sim-pair:{phone}:{secrets.token_hex(8)}"), phone)
        token = self.state.pair(phone)   # the sim's "phone" scans at once
        jid = f"{phone[1:]}@sim.invalid"
        self._emit(conn, p.push("paired", jid=jid, token=token), phone)
        self._bind(conn, req_id, phone, {"jid": jid})

    def _op_connect(self, conn: _Conn, req_id, frame: dict) -> None:
        phone = p.require_phone(frame, "phone")
        acc = self.state.account(phone, create=True)
        acc.connects += 1
        if self._refuse_if_banned(conn, req_id, acc):
            return
        if not self.state.token_valid(phone, frame.get("token")):
            self._emit(conn, p.push("logged_out", reason="device is not linked (pair again)"), phone)
            self._emit(conn, p.error(req_id, p.LOGGED_OUT, "device is not linked"), phone)
            self._emit(conn, None, phone)
            return
        self._bind(conn, req_id, phone, {})

    def _op_send(self, conn: _Conn, req_id, frame: dict) -> None:
        if conn.account is None:
            raise p.BadRequest("connect first", p.NOT_CONNECTED)
        to, text, key = p.require_phone(frame, "to"), p.require_text(frame), frame.get("key") or ""
        if to in self.state.unregistered:
            self.state.counts["not_on_whatsapp"] += 1
            raise p.BadRequest(f"{to} is not on WhatsApp (no LID found)", p.NOT_ON_WHATSAPP)
        extra = self._message_fields(frame, text)   # a file sent as media: kept like a customer's
        message_id, duplicate = self.state.account_send(conn.account, to, text, str(key), extra)
        acc = self.state.accounts.get(conn.account)
        hold = acc.slow_send_s if acc is not None else 0.0

        def answer() -> None:   # a slow-send fault holds the answer, nothing else on the stream
            self._emit(conn, p.reply(req_id, {"message_id": message_id, "duplicate": duplicate}))
            if not duplicate:
                self._emit(conn, p.push("receipt", ids=[message_id], kind="delivered", sender=to))
        if hold > 0:
            self._loop.call_later(hold, answer)
        else:
            answer()

    def _op_unregistered(self, conn: _Conn, req_id, frame: dict) -> None:
        """From now on `phone` is not on WhatsApp: every send to it fails, for good."""
        self.state.unregistered.add(p.require_phone(frame, "phone"))
        self._emit(conn, p.reply(req_id, {}))

    def _op_ping(self, conn: _Conn, req_id, frame: dict) -> None:
        """The device's keep-alive: a hung account never answers it (see _dispatch)."""
        self._emit(conn, p.reply(req_id, {}))

    def _op_ack(self, conn: _Conn, req_id, frame: dict) -> None:
        if conn.account is None:
            raise p.BadRequest("connect first", p.NOT_CONNECTED)
        found = self.state.ack(conn.account, str(frame.get("message_id")))
        self._emit(conn, p.reply(req_id, {"found": found}))

    def _op_logout(self, conn: _Conn, req_id, frame: dict) -> None:
        """The device unlinks itself (bound stream, or phone + token on any connection)."""
        phone = conn.account or p.require_phone(frame, "phone")
        unlinked = bool(conn.account) or self.state.token_valid(phone, frame.get("token"))
        if unlinked:
            self.state.logout(phone)
        self._emit(conn, p.reply(req_id, {"unlinked": unlinked}), phone)
        stream = self._conns.get(phone)
        if unlinked and stream is not None:
            self._emit(stream, None)

    # control ops ---------------------------------------------------------

    def _op_inbox(self, conn: _Conn, req_id, frame: dict) -> None:
        self._emit(conn, p.reply(req_id, self.state.inbox(p.require_phone(frame, "customer"))))

    def _op_ack_times(self, conn: _Conn, req_id, frame: dict) -> None:
        ids = frame.get("ids")
        if not isinstance(ids, list):
            raise p.BadRequest("ids: expected a list of message ids")
        times = self.state.ack_times
        self._emit(conn, p.reply(req_id, {i: times[i] for i in ids if isinstance(i, str) and i in times}))

    def _op_fault(self, conn: _Conn, req_id, frame: dict) -> None:
        phone, kind = p.require_phone(frame, "account"), frame.get("kind")
        if kind not in p.FAULT_KINDS:
            raise p.BadRequest(f"unknown fault {kind!r}; one of {', '.join(p.FAULT_KINDS)}")
        acc = self.state.accounts.get(phone)
        if acc is None:
            raise p.BadRequest(f"unknown account {phone}", p.UNKNOWN_ACCOUNT)
        stream = self._conns.get(phone)
        if kind == "ban":
            seconds = p.require_number(frame, "seconds")
            until = self.state.ban(phone, seconds)
            self._kick(stream, p.push("banned", code=403, expires_ts=until))
        elif kind == "logout":
            self.state.logout(phone)
            self._kick(stream, p.push("logged_out", reason="logged out from the phone (sim fault)"))
        elif kind == "replace":
            self._kick(stream, p.push("replaced"))
        elif kind == "disconnect" and stream is not None:
            self._close(stream, abrupt=True)
        elif kind == "hang":
            acc.hung = True
        elif kind == "latency":
            acc.latency_ms = int(p.require_number(frame, "ms", allow_zero=True))
        elif kind == "slow-send":
            acc.slow_send_s = p.require_number(frame, "seconds", allow_zero=True)
        self._emit(conn, p.reply(req_id, {}))

    def _kick(self, stream: _Conn | None, event: bytes) -> None:
        if stream is not None:
            self._emit(stream, event)
            self._emit(stream, None)

    def _op_heal(self, conn: _Conn, req_id, frame: dict) -> None:
        phone = p.require_phone(frame, "account")
        acc = self.state.accounts.get(phone)
        if acc is None:
            raise p.BadRequest(f"unknown account {phone}", p.UNKNOWN_ACCOUNT)
        was_hung = acc.hung
        self.state.heal(phone)
        stream = self._conns.get(phone)
        if was_hung and stream is not None:
            self._push_pending(stream, phone)   # what the hang swallowed
        self._emit(conn, p.reply(req_id, {}))

    def _op_status(self, conn: _Conn, req_id, frame: dict) -> None:
        self._emit(conn, p.reply(req_id, self._status()))

    def status(self) -> dict:
        """Accounts with their state, and counters since this process started.

        Callable from any thread (it runs on the server's loop).
        """
        loop = self._loop
        if loop is None or not self.running:
            raise RuntimeError("the simulated network is not running")
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            return self._status()

        async def on_the_loop() -> dict:
            return self._status()
        return asyncio.run_coroutine_threadsafe(on_the_loop(), loop).result(5)

    def _status(self) -> dict:
        now = time.time()
        accounts = {}
        for phone, acc in sorted(self.state.accounts.items()):
            accounts[phone] = {
                "state": self._account_state(acc, now),
                "paired": acc.token is not None,
                "pending": len(acc.pending),
                "ban_expires_ts": acc.ban_until if acc.banned(now) else 0.0,
                "latency_ms": acc.latency_ms,
                "connects": acc.connects,   # pair + connect attempts since this process started
            }
        counts = {k: self.state.counts.get(k, 0) for k in
                  ("inbound", "delivered", "acked", "outbound", "outbound_media", "duplicates_dropped",
                   "not_on_whatsapp")}
        counts["streams"] = len(self._conns)   # accounts with a live connection
        return {"accounts": accounts, "counts": counts, "customers": len(self.state.inboxes)}

    def _account_state(self, acc: Account, now: float) -> str:
        if acc.hung:
            return "hung"
        if acc.banned(now):
            return "banned"
        if acc.token is None:
            return "logged_out" if acc.ever_paired else "unpaired"
        return "connected" if acc.phone in self._conns else "disconnected"


_ACCOUNT_OPS = {"pair", "connect", "send", "ack", "logout", "ping", "typing", "read"}


def serve(host: str = "127.0.0.1", port: int = 0, state_dir: str | None = None) -> None:
    """Run the simulated network on this thread until SIGTERM/SIGINT (or close())."""
    server = SimServer(host, port, state_dir)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: server.close())

    def announce() -> None:
        if server._ready.wait(30) and server._error is None:
            print(f"simulated WhatsApp network (a test double) listening on "
                  f"{server.host}:{server.port}", flush=True)
    threading.Thread(target=announce, daemon=True).start()
    server.serve_forever()
