"""The words every layer shares, defined once: device states, health, roles, strategies.

This is the bottom layer: it imports nothing of the project, so the store, the
config loader, the domain packages, the actors and the CLI can all read it.
"""
from __future__ import annotations

# A master's WhatsApp device (docs/architecture.md, "Device states").
DEVICE_STATES = ("unlinked", "pairing", "connecting", "connected", "disconnected",
                 "logged_out", "banned", "replaced", "outdated")
DEAD_DEVICE_STATES = ("logged_out", "banned", "outdated")   # need a person (or the ban's end)
TRANSIENT_DEVICE_STATES = ("connecting", "disconnected", "replaced")   # coming back by itself

# A master's health, judged by the HA monitor.
HEALTH_STATES = ("unknown", "healthy", "degraded", "failed")

# A master's place in routing: primaries before backups.
ROLES = ("primary", "backup")

# Outbound routing strategies: name → what it does (the CLI's --help reads this).
STRATEGY_HELP = {
    "round-robin": "each available master in turn, by weight",
    "priority": "the best tier (primary, then lowest priority number) that can send",
    "least-loaded": "the master with the fewest conversations per weight",
    "region": "a master in the customer's country first, then round-robin",
}
STRATEGIES = tuple(STRATEGY_HELP)

# How a failover's hand-over note reaches the customers (balancing/notes.py says why).
NOTE_MODES = ("on_next_message", "paced")
DEFAULT_STRATEGY = "round-robin"

# A deal's pipeline (deals/stages.py moves a deal along it) and its kinds of transaction.
DEAL_STAGES = ("lead", "interested", "offer", "negotiation", "inspection", "approval", "closed", "cancelled")
OPEN_DEAL_STAGES = DEAL_STAGES[:6]   # everything before closed / cancelled
TRANSACTIONS = ("sale", "lease", "lease_renewal", "off_plan")

# How a new lead picks an agent on duty (agents/assign.py; config [leads] strategy).
LEAD_STRATEGY_HELP = {
    "round_robin": "each agent on duty in turn",
    "least_open": "the agent on duty with the fewest assigned or accepted leads",
    "region": "an agent whose regions or specialties match words of the message, else round_robin",
}
LEAD_STRATEGIES = tuple(LEAD_STRATEGY_HELP)
# What an agent is: employees and freelancers broker (they need a BRN), referrers only refer.
AGENT_KINDS = ("employee", "freelancer", "referrer")
LEAD_STATUSES = ("open", "assigned", "accepted", "waiting", "converted", "lost")
