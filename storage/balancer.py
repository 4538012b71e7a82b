"""The balancer's state that must survive its restart: the failover state and the rate limiters."""
from __future__ import annotations

from storage.env import Txn

FAILOVER_KEY = b"balancer:state"
LIMITS_KEY = b"balancer:limits"


def get_failover(txn: Txn) -> dict:
    """{"gate", "waiting", "down", "strategy"}: see balancing/failover.py BalancerState."""
    return txn.get("meta", FAILOVER_KEY) or {}


def put_failover(txn: Txn, state: dict) -> None:
    txn.put("meta", FAILOVER_KEY, state)


def get_limits(txn: Txn) -> dict:
    """Rate limiter state per master (balancing/ratelimit.py)."""
    return txn.get("meta", LIMITS_KEY) or {}


def put_limits(txn: Txn, limits: dict) -> None:
    txn.put("meta", LIMITS_KEY, limits)


def next_failover_seq(txn: Txn) -> int:
    """A number for each failover or restore (its hand-over notes' keys name it)."""
    return txn.next_seq("failover")
