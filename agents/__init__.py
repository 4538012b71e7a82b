"""Agents, freelancers and leads (issue 17): who brokers, who is licensed, how commission is split with
the agency, and how a new customer reaches an agent on duty.

Pure policy over storage records, no actors and no click: `registry` (agents
checked on the way in), `licence` (the RERA broker card), `plans` (the
commission split with the agency), `assign` and `leads` (how a lead moves),
`protection` (first touch), `relay` (who a customer's messages go to),
`funnel` (the per-agent report), and `desk`, the lead operations the commands
call inside one Store transaction. docs/agents.md describes the rules.
"""
