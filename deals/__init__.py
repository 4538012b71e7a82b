"""Deals and commission: the agency's pipeline and its append-only commission ledger.

Pure policy, no actors and no click: `stages` (the pipeline), `rules` (the
commission rules file), `commission` (one calculation), `ledger` (what the
ledger lines mean), and `book`, the operations the chat and CLI commands call
inside one Store transaction.
"""
