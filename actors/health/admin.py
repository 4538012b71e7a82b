"""Admin commands of the health area (health report, alerts, HA status).

Registered with `@handler` from actors/admin.py; imported at the end of that module.
"""
from __future__ import annotations
