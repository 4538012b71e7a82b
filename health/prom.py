"""The Prometheus endpoint, served by a thread of the HA monitor's process.

Every scrape reads the monitor's live view (health, heartbeat ages) and
LMDB (counters, conversations, outbox) at that moment: nothing is kept twice.
It listens on the daemon's bind address (loopback) only.
"""
from __future__ import annotations

import time

import structlog
from prometheus_client import start_http_server
from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily

from health import record
from health.policy import HEALTH_STATES
from health.report import UP_STATES
from storage import metrics

log = structlog.get_logger("ha-monitor")


class WhiteCavesCollector:
    def __init__(self, monitor) -> None:
        self.monitor = monitor   # the HAMonitor: .status(now) and .store

    def collect(self):
        now = time.time()
        status = self.monitor.status(now)["masters"]
        up = GaugeMetricFamily("whitecaves_master_up", "1 when the master is healthy or degraded", labels=["phone"])
        health = GaugeMetricFamily("whitecaves_master_health", "1 for the master's current health state",
                                   labels=["phone", "state"])
        age = GaugeMetricFamily("whitecaves_heartbeat_age_seconds", "Seconds since the master's last heartbeat",
                                labels=["phone"])
        for phone, s in sorted(status.items()):
            up.add_metric([phone], 1.0 if s["health"] in UP_STATES else 0.0)
            for state in HEALTH_STATES:
                health.add_metric([phone, state], 1.0 if s["health"] == state else 0.0)
            if s["heartbeat_age_s"] is not None:
                age.add_metric([phone], s["heartbeat_age_s"])
        yield from (up, health, age)

        convs = GaugeMetricFamily("whitecaves_conversations", "Conversations owned by the master", labels=["phone"])
        depth = GaugeMetricFamily("whitecaves_outbox_depth", "Entries in the durable outbox")
        messages = CounterMetricFamily("whitecaves_messages", "Messages received and sent",
                                       labels=["phone", "direction"])
        failovers = CounterMetricFamily("whitecaves_failovers", "Failovers of the master by status",
                                        labels=["phone", "status"])
        restarts = CounterMetricFamily("whitecaves_restarts", "Restarts of an actor's process", labels=["actor"])
        undecryptable = CounterMetricFamily("whitecaves_undecryptable_messages",
                                            "Inbound messages WhatsApp delivered that could not be decrypted",
                                            labels=["phone"])
        with self.monitor.store.read() as txn:
            counts = record.conversation_counts(txn)
            phones = sorted(set(status) | set(counts))
            for phone in phones:
                convs.add_metric([phone], counts.get(phone, 0))
                messages.add_metric([phone, "in"], metrics.get(txn, f"messages_in:{phone}"))
                messages.add_metric([phone, "out"], metrics.get(txn, f"messages_out:{phone}"))
                undecryptable.add_metric([phone], metrics.get(txn, f"undecryptable:{phone}"))
                for st, n in record.failover_counts(txn, phone).items():
                    failovers.add_metric([phone, st], n)
            # Sessions: counted by the monitor in LMDB (survive a daemon restart); the other
            # actors: as their supervisors count them (since the daemon started).
            counted = {name.removeprefix("restarts:"): n for name, n in metrics.with_prefix(txn, "restarts:").items()}
            for actor, n in self.monitor.tree_restarts.items():
                if not actor.startswith("master:"):
                    counted.setdefault(actor, n)
            for actor, n in sorted(counted.items()):
                restarts.add_metric([actor], n)
            depth.add_metric([], record.queue_depth(txn))
        yield from (convs, depth, messages, failovers, restarts, undecryptable)


def serve(monitor, bind: str, port: int):
    """Start the endpoint; None (and an error in the log) if the port is taken:
    metrics are not worth a crash loop of the monitor."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WhiteCavesCollector(monitor))
    try:
        server, _thread = start_http_server(port, addr=bind, registry=registry)
    except OSError as e:
        log.error("metrics_endpoint_failed", port=port, bind=bind, error=str(e))
        return None
    log.info("metrics_endpoint", url=f"http://{bind}:{port}/metrics")
    return server
