"""The errors of the agents domain: each message is meant for the person who typed the command."""
from __future__ import annotations


class AgentError(Exception):
    """Anything refused about an agent; str(e) is what the user reads."""


class LeadError(AgentError):
    """A lead operation refused (accepting another's lead, an unknown id, ...)."""


class PlanError(AgentError):
    """[[plan]] tables that do not validate; `problems` lists every fault, each naming the plan and field."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("the commission plans are not valid:\n" + "\n".join(f"  - {p}" for p in self.problems))
