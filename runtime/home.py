"""A private home: only its owner can list it or read anything in it.

The home holds customers' messages (the store), the WhatsApp session
databases, the logs, QR codes and the wire key (runtime/wire.py). So:
directories 0700, files 0600. Two guards:
- `private_umask()`: umask 0o077 in the CLI and, inherited through fork/exec,
  in every daemon process, so nothing is ever created readable by others
  (sqlite under neonize, thespian's log, rotated logs, LMDB files);
- `make_private(home)` at `daemon start`: a home made wider by an older
  version, by hand or by a restored backup is fixed, and the caller warns.

Imports nothing above runtime/.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass

UMASK = 0o077
OTHERS = 0o077  # group and world bits: none may be set in a private home


@dataclass(frozen=True)
class Widened:
    """A path of the home that others could reach, and its mode before the fix."""
    path: str
    mode: int

    def __str__(self) -> str:
        return f"{self.path} ({self.mode:04o})"


def private_umask() -> None:
    """Files and directories this process (and its children) creates are its owner's only."""
    os.umask(UMASK)


def create(home: str) -> str:
    """Create `home` (0700) if it does not exist; return its absolute path."""
    private_umask()
    home = os.path.abspath(home)
    os.makedirs(home, mode=0o700, exist_ok=True)
    return home


def wider_than_private(home: str) -> list[Widened]:
    """Every directory or file in `home` (itself included) with a group or world bit.
    Symbolic links are not followed (their own mode means nothing on Linux)."""
    found = []
    for path in _walk(os.path.abspath(home)):
        try:
            st = os.lstat(path)
        except FileNotFoundError:  # removed while we walked (a rotated log)
            continue
        if not stat.S_ISLNK(st.st_mode) and st.st_mode & OTHERS:
            found.append(Widened(path, stat.S_IMODE(st.st_mode)))
    return found


def make_private(home: str) -> list[Widened]:
    """Create or tighten `home`: umask 0o077 here, then every directory and file in it
    loses its group and world bits (0755 → 0700, 0644 → 0600). Returns what was
    wider, for the caller to warn about; [] for a home that was already private."""
    create(home)
    widened = wider_than_private(home)
    for w in widened:
        os.chmod(w.path, w.mode & ~OTHERS)
    return widened


def warning(home: str, widened: list[Widened], shown: int = 3) -> str:
    """One line saying what was fixed (a few examples, then a count)."""
    examples = ", ".join(str(w) for w in widened[:shown])
    more = f" and {len(widened) - shown} more" if len(widened) > shown else ""
    return (f"{home} was readable by other users of this host: {examples}{more}; "
            f"made private (directories 0700, files 0600)")


def warn(home: str, widened: list[Widened]) -> None:
    """Say what make_private fixed (stderr and whitecaves.log)."""
    tell(home, "home_made_private", warning(home, widened), paths=len(widened))


def tell(home: str, event: str, line: str, **fields) -> None:
    """A warning for the user running `daemon start`: one line on stderr and one in
    whitecaves.log. Only before the daemon's logger runs (nothing else writes that
    file then, so one appended line is safe)."""
    import json
    import sys
    import time

    from runtime import logs

    print(f"warning: {line}", file=sys.stderr, flush=True)
    os.makedirs(logs.log_dir(home), exist_ok=True)
    with open(logs.log_file(home), "a", encoding="utf-8") as f:
        f.write(json.dumps({"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "level": "warning",
                            "event": event, "detail": line, **fields, "pid": os.getpid()}) + "\n")


def _walk(home: str):
    yield home
    for root, dirs, files in os.walk(home, followlinks=False):
        for name in dirs + files:
            yield os.path.join(root, name)
