"""Admin commands of the balancer area (send, outbox, conversations, failover, load).

Registered with `@handler` from actors/admin.py; imported at the end of that module.
"""
from __future__ import annotations
