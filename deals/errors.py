"""The errors of the deals domain: each message is meant for the person who typed the command."""
from __future__ import annotations


class DealError(Exception):
    """Anything refused in the deals domain; str(e) is what the user reads."""


class StageError(DealError):
    """A stage change the pipeline does not allow."""


class RuleError(DealError):
    """A commission rules file that does not validate; `problems` lists every fault found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        head = "the commission rules file is not valid"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class CommissionError(DealError):
    """A calculation that cannot be made (no rule, a bad price, an expired rule, ...)."""


class LedgerError(DealError):
    """A ledger operation refused (approving twice, paying twice, nothing to pay, ...)."""
