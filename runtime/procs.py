"""Finding and ending the processes of one daemon.

Every process of a daemon is marked with its home, found even after the
Admin was SIGKILLed and its children were re-parented to init. Linux only (/proc).

Two marks, because thespian forks without exec and /proc/PID/environ shows
only the environment a process was *exec'd* with:
- an open file descriptor on `<home>/run/processes.mark`, opened by the CLI
  just before thespian forks the Admin (`marked`), inherited by every forked
  process — the Admin, thespian's logger, every actor;
- the environment variable MARK_ENV = home, for processes a daemon process
  starts with exec (os.environ is inherited by exec'd children).
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time

MARK_ENV = "WHITECAVES_DAEMON_HOME"


MARK_FILE = os.path.join("run", "processes.mark")


def mark_path(home: str) -> str:
    return os.path.join(os.path.abspath(home), MARK_FILE)


@contextlib.contextmanager
def marked(home: str):
    """Processes forked (or exec'd) inside this block carry the mark of `home`; we do not."""
    path = mark_path(home)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)
    previous = os.environ.get(MARK_ENV)
    os.environ[MARK_ENV] = os.path.abspath(home)
    try:
        yield
    finally:
        os.close(fd)
        if previous is None:
            os.environ.pop(MARK_ENV, None)
        else:
            os.environ[MARK_ENV] = previous


def marks() -> dict[int, str]:
    """{pid: home} for every live marked process on the host but our own."""
    me = os.getpid()
    found = {}
    env_prefix = MARK_ENV.encode() + b"="
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        home = _fd_mark(entry) or _env_mark(entry, env_prefix)
        if home is not None and not _is_zombie(int(entry)):
            found[int(entry)] = home
    return found


def processes_of(home: str) -> list[int]:
    """Pids of every live process marked with `home` (never our own)."""
    want = os.path.abspath(home)
    return sorted(pid for pid, h in marks().items() if h == want)


def is_marked(pid: int, home: str) -> bool:
    """True when `pid` is a live process of the daemon of `home` (cheap: one process)."""
    if not pid or not alive(pid):
        return False
    mark = _fd_mark(str(pid)) or _env_mark(str(pid), MARK_ENV.encode() + b"=")
    return mark == os.path.abspath(home)


def _fd_mark(pid: str) -> str | None:
    fd_dir = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return None
    for fd in fds:
        try:
            target = os.readlink(f"{fd_dir}/{fd}")
        except OSError:
            continue
        target = target.removesuffix(" (deleted)")  # the home was removed under a live process
        if target.endswith(MARK_FILE) and target.startswith("/"):
            return target[: -len(MARK_FILE) - 1]
    return None


def _env_mark(pid: str, prefix: bytes) -> str | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = f.read().split(b"\0")
    except OSError:
        return None
    for var in env:
        if var.startswith(prefix):
            return var[len(prefix):].decode(errors="replace")
    return None


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            # state is the field after the parenthesised command name
            return f.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def kill_all(pids: list[int], grace_s: float = 0.0) -> list[int]:
    """SIGTERM (if grace_s > 0) then SIGKILL what is left. Returns the pids that were alive."""
    live = [p for p in pids if alive(p)]
    if grace_s > 0:
        for p in live:
            _signal(p, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(alive(p) for p in live):
            time.sleep(0.02)
    for p in live:
        if alive(p):
            _signal(p, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and any(alive(p) for p in live):
        time.sleep(0.01)
    return live


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def die_with_parent() -> None:
    """PR_SET_PDEATHSIG: SIGKILL this process when the process that forked it dies.

    Thespian leaves children running when their parent is SIGKILLed; with
    this an actor's subtree goes with it, as in Erlang.
    """
    PR_SET_PDEATHSIG = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # The parent may already have died between fork and prctl.
    if os.getppid() == 1:
        os._exit(1)
