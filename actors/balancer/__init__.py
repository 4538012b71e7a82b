"""The load balancer's pure policy: routing strategies, failover hand-over plans,
per-master rate limits and the balance-quality figure. No actors, no storage:
the balancer actor calls these and persists what they decide."""
