"""Health: heartbeats to health states, recovery, alerts, uptime history, metrics (pure policy and commands)."""
