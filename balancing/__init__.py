"""Balancing: who sends each outbound message, rate limits, failover and restore (pure policy and commands)."""
