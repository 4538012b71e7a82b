"""Where one daemon runs: what every actor of it needs to know."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Context:
    home: str
    port: int
    transport: str = "neonize"     # neonize | sim
    sim_port: int = 0
    bind: str = "127.0.0.1"
