"""The commission rules file as imported: every import kept, the newest one in force.

Stored as the TOML text it was imported from (deals/rules.py parses it), so
`commission rules` can show exactly what was imported, by whom and when.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from storage import records
from storage.codec import u64
from storage.env import Txn


@dataclass(frozen=True)
class RulesFile:
    seq: int
    text: str
    by: str = ""
    ts: float = field(default_factory=time.time)


def save(txn: Txn, text: str, by: str = "", ts: float | None = None) -> RulesFile:
    doc = RulesFile(seq=txn.next_seq("commission_rules"), text=text, by=by, ts=ts or time.time())
    txn.put("commission_rules", u64(doc.seq), asdict(doc), overwrite=False)
    return doc


def current(txn: Txn) -> RulesFile | None:
    for k, raw in txn.scan("commission_rules", reverse=True):
        return records.build("commission_rules", k, RulesFile, **raw)
    return None
