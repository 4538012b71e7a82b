"""What bench/failover.py and bench/outbox.py share: a daemon of their own on free loopback ports."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from runtime import procs  # noqa: E402
from runtime.ports import free_port  # noqa: E402

CONFIG = """
[limits]
enabled = false
[session]
typing_max_s = 0
[logging]
level = "warning"
"""


class BenchDaemon:
    """A daemon with a temporary home; `close()` stops it and kills anything left, by pid."""

    def __init__(self, prefix: str, config: str = CONFIG):
        self.home = tempfile.mkdtemp(prefix=prefix)
        with open(os.path.join(self.home, "config.toml"), "w") as f:
            f.write(config)
        self.port = free_port()
        self.sim_port = self.port + 1
        self.env = dict(os.environ, WHITECAVES_HOME=self.home, WHITECAVES_PORT=str(self.port))

    def cli(self, *args: str) -> str:
        # Output to a file, not a pipe: the daemon's processes must not hold our pipe open.
        out = os.path.join(self.home, "cli.out")
        with open(out, "w") as f:
            r = subprocess.run([sys.executable, "-m", "cli", *args], stdin=subprocess.DEVNULL,
                               stdout=f, stderr=subprocess.STDOUT, env=self.env, cwd=ROOT, timeout=120)
        with open(out) as f:
            text = f.read()
        if r.returncode != 0:
            raise RuntimeError(f"whitecaves {' '.join(args)} → exit {r.returncode}: {text}")
        return text

    def json(self, *args: str):
        return json.loads(self.cli(*args, "--json").strip().splitlines()[-1])

    def start(self, masters: list[tuple[str, str, str]]) -> None:
        """Start on the sim and add + link each (phone, name, role)."""
        self.cli("daemon", "start", "--transport", "sim")
        for phone, name, role in masters:
            self.cli("master", "add", phone, "--name", name, "--role", role)
            self.cli("link", "master", phone)

    def close(self) -> None:
        try:
            self.cli("daemon", "stop")
        except Exception:
            pass
        procs.kill_all(procs.processes_of(self.home))
        shutil.rmtree(self.home, ignore_errors=True)
