"""Starting, stopping and inspecting a daemon (what `whitecaves daemon ...` does)."""
from __future__ import annotations

import os
import threading
import time

from runtime import bind, config as config_mod, home, procs
from daemon.client import (DaemonError, NotRunning, ROOT_NAME, Where, ask, connect, read_pid_file,
                            remove_pid_file, stale_processes, update_pid_file, wait_gone,
                            write_pid_file)


def start(where: Where, transport: str = "neonize", foreground: bool = False) -> dict:
    """Start the daemon and return its pid-file record once the root answers."""
    from daemon import system
    from actors.root import Root
    from runtime import logs  # structlog costs ~0.25 s to import: only the start needs it
    from daemon.tree import root_args
    from runtime.context import Context
    from supervision.messages import Init, StartFailed, Started
    from storage import faults as store_faults
    from daemon import store_watch

    cfg = config_mod.load(where.home)  # a bad config.toml stops us here, before anything runs
    where.bind = where.bind or cfg.daemon.bind
    try:  # every frame is authenticated (runtime/wire.py): a wider bind is allowed, and said below
        exposure = bind.check(where.bind)
    except bind.BindError as e:
        raise DaemonError(str(e)) from None
    if exposure and transport == "sim":  # transports/sim/server.py: unauthenticated, loopback only
        raise DaemonError(f"--bind {where.bind}: the simulated network listens on loopback only; "
                          f"bind 127.0.0.1, or use --transport neonize")
    _refuse_if_running(where)
    stale = stale_processes(where)
    if stale:  # left by a SIGKILLed daemon (its logger may even hold the Admin port)
        procs.kill_all(stale)
    remove_pid_file(where)
    widened = home.make_private(where.home)  # umask 0o077 for every daemon process, inherited
    if widened:
        home.warn(where.home, widened)
    if exposure:
        home.tell(where.home, "bind_not_loopback", exposure, bind=where.bind)
    store_faults.forget_marker(where.home)   # this start accepts the store it finds (storage/faults.py)
    store_watch.forget_failure(where.home)
    if system.port_listening(where.port):
        raise DaemonError(f"port {where.port} is already in use by another program "
                          f"(or another home's daemon); choose another with --port")

    os.makedirs(logs.log_dir(where.home), exist_ok=True)
    os.environ["THESPLOG_FILE"] = os.path.join(logs.log_dir(where.home), "thespian.log")
    sim_port = cfg.sim.port or where.port + 1
    ctx = Context(home=os.path.abspath(where.home), port=where.port, transport=transport,
                  sim_port=sim_port, bind=where.bind)
    log_defs = logs.log_defs(where.home, cfg.logging.level, cfg.logging.max_bytes,
                             cfg.logging.backups, foreground=foreground)
    t0 = time.monotonic()
    # a daemon must not hold our terminal or pipe (`daemon start | cat` would wait for it to end)
    output = None if foreground else os.path.join(logs.log_dir(where.home), "daemon.out")
    asys = system.start(where.home, where.port, where.bind, log_defs, output=output)
    try:
        root = asys.createActor(Root, globalName=ROOT_NAME)
        reply = ask(asys, root, Init(child_id="root", args=root_args(ctx, cfg), peers={}),
                    timeout=cfg.daemon.start_timeout_s, ref=None)
        if isinstance(reply, StartFailed):  # e.g. 'failed_to_start_child masters: failed_to_start_child …'
            raise DaemonError(f"the daemon did not start: {reply.reason} (see {logs.log_file(where.home)})")
        if not isinstance(reply, Started):
            raise DaemonError(f"the daemon did not come up within {cfg.daemon.start_timeout_s:g} s "
                              f"(see {logs.log_file(where.home)})")
        _wait_for_children(asys, root, t0 + cfg.daemon.start_timeout_s, logs.log_file(where.home))
    except BaseException:
        _shutdown(asys, where, cfg.daemon.stop_timeout_s)
        raise
    info = {"pid": _parent_of(reply.pid), "root_pid": reply.pid, "port": where.port,
            "home": ctx.home, "transport": transport, "bind": where.bind, "sim_port": sim_port,
            "started_ts": time.time(), "start_s": round(time.monotonic() - t0, 3),
            "store_file": store_watch.store_file(where.home)}   # the keeper ends a daemon whose store goes
    write_pid_file(where, info)
    from daemon import keeper  # restarts a SIGKILLed root; ends the rest if the Admin dies
    info["keeper_pid"] = keeper.spawn(where, output or os.path.join(logs.log_dir(where.home), "daemon.out"))
    # locked, and keeping what the keeper may have written already (its standby's pid)
    return update_pid_file(where, lambda now: dict(now, keeper_pid=info["keeper_pid"])) or info


def _wait_for_children(asys, root, deadline: float, log_file: str) -> None:
    """The root answers before its children have started (one after another): return only
    once they all run, so the very next command finds the admin gateway there."""
    from actors.messages import new_ref
    from supervision.messages import Children, WhichChildren

    waiting: list[str] = []
    while time.monotonic() < deadline:
        ref = new_ref()
        reply = ask(asys, root, WhichChildren(ref=ref), timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(reply, Children):
            waiting = [c.id for c in reply.children if c.state != "running"]
            if not waiting:
                return
        time.sleep(0.01)
    raise DaemonError(f"the daemon's {', '.join(waiting) or 'actors'} did not start in time (see {log_file})")


def _refuse_if_running(where: Where) -> None:
    """A daemon of this home whose Admin is alive: refuse, whatever port it uses. Not an Admin
    left with no root and nothing to restart one (root, keeper and standby all killed):
    `status` exits 3 for it, so a service manager's `start` must replace it."""
    info = read_pid_file(where)
    if not info:
        return
    pid = info.get("pid")
    tended = [info.get(k) for k in ("root_pid", "keeper_pid", "standby_pid")]
    if procs.is_marked(pid, where.home) and any(p and procs.is_marked(p, where.home) for p in tended):
        raise DaemonError(f"a daemon is already running for {where.home} "
                          f"(pid {pid}, port {info.get('port')})")


def stop(where: Where) -> dict:
    """Stop every process of the daemon within [daemon] stop_timeout_s."""
    try:
        cfg = config_mod.load(where.home)
    except config_mod.ConfigError:  # a config.toml broken while the daemon ran must not keep it running
        cfg = config_mod.Config()
    timeout = cfg.daemon.stop_timeout_s
    t0 = time.monotonic()
    from daemon import keeper
    keeper.stop(read_pid_file(where))  # first: an orderly stop is not a fault to mend
    try:
        asys = connect(where, timeout=timeout / 2)
    except DaemonError as e:  # not running, or its Admin does not answer: end what is left by pid
        stale = stale_processes(where)
        if not stale:
            remove_pid_file(where)
            if isinstance(e, NotRunning):
                raise
            raise NotRunning(where.home, where.port) from e
        procs.kill_all(stale)
        remove_pid_file(where)
        return {"stopped": True, "stale_killed": len(stale), "stop_s": round(time.monotonic() - t0, 3)}
    killed = _shutdown(asys, where, timeout - (time.monotonic() - t0))
    return {"stopped": True, "killed": killed, "stop_s": round(time.monotonic() - t0, 3)}


def _shutdown(asys, where: Where, timeout: float) -> int:
    """Ask thespian to shut down; SIGKILL whatever is left at the deadline (`timeout` in all)."""
    deadline = time.monotonic() + timeout
    pids = stale_processes(where)
    done = threading.Thread(target=_quiet(asys.shutdown), daemon=True)
    done.start()
    done.join(max(0.0, timeout - 1.0))  # a stuck Admin never answers: keep time for the kill
    left = wait_gone(stale_processes(where) or pids, max(0.0, deadline - time.monotonic() - 0.5))
    procs.kill_all(left)
    remove_pid_file(where)
    return len(left)


def _quiet(fn):
    def run():
        try:
            fn()
        except Exception:
            pass
    return run


def status(where: Where, timeout: float = 5.0) -> dict:
    """The actor tree as the issue's JSON shape."""
    from actors.messages import new_ref
    from daemon.client import _close, root_address
    from supervision.messages import Children, WhichChildren

    asys = connect(where)
    try:
        ref = new_ref()
        reply = ask(asys, root_address(asys, where), WhichChildren(ref=ref, recursive=True), timeout)
    finally:
        _close(asys)
    if not isinstance(reply, Children):
        raise DaemonError(f"the daemon's root did not answer within {timeout:g} s")
    info = read_pid_file(where) or {}
    started = info.get("started_ts", time.time())
    actors = [{"name": "root", "pid": info.get("root_pid"), "state": "running",
               "restarts": info.get("root_restarts", 0),
               "uptime_s": round(time.time() - started, 3), "next_start_in_s": None}]
    _flatten(reply.children, actors)
    from storage import faults
    return {"running": True, "pid": info.get("pid"), "port": where.port,
            "home": os.path.abspath(where.home), "transport": info.get("transport"),
            "store_fault": faults.standing(where.home, since=started), "actors": actors}


def _flatten(children, out: list) -> None:
    for c in children:
        out.append({"name": c.id, "pid": c.pid, "state": c.state, "restarts": c.restarts,
                    "uptime_s": None if c.uptime_s is None else round(c.uptime_s, 3),
                    "next_start_in_s": c.next_start_in_s})
        _flatten(getattr(c, "children", None) or [], out)


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None
