"""The deals chat commands as logic: `respond` against a real LMDB store, no actor system.

Who may use them, key=value parsing with quotes, ownership of deals, and that
a refusal inside the inbound transaction changes nothing (Txn.nested).
"""
from __future__ import annotations

import pytest

from chat import respond
from chat.dispatch import DENIED
from commands import registry
from deals import book
from agents.chat_commands import AGENTS_ONLY
from deals.chat_commands import key_values
from runtime.config import Commission, Config
from storage import Store, admins, deals, events, ledger, payouts

MASTER = "+971505760056"
AGENT, OTHER_AGENT, ADMIN, STRANGER = "+971500000002", "+971500000003", "+971500000001", "+447700900123"
CUSTOMER = "+971500000009"
RULES = """
[[rule]]
name = "sale-2pct"
kind = "percentage"
rate = "2"
approval_above = "50000"
[rule.scope]
transaction = ["sale"]
"""
NEW = '!new-deal price=2,000,000 type=villa transaction=sale customer=+971500000009 property="Villa 12, Palm"'


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path))

    def seed(txn):
        admins.add(txn, ADMIN)
        book.add_agent(txn, AGENT, "Aisha", brn="12345", brn_expiry="2099-12-31")
        book.add_agent(txn, OTHER_AGENT, "Omar", brn="23456", brn_expiry="2099-12-31")
        book.import_rules(txn, RULES)
    s.write(seed)
    yield s
    s.close()


def say(store, sender, text, config=None):
    replies = store.write(lambda txn: respond(txn, MASTER, sender, text, admins.is_admin(txn, sender), [], config))
    assert replies is not None
    return "\n".join(replies)


def test_key_values_reads_quotes_curly_quotes_and_names_what_is_wrong():
    assert key_values('price=1 property="Villa 12, Palm"', ("price", "property"), ()) == \
        {"price": "1", "property": "Villa 12, Palm"}
    assert key_values("property=“Villa 7, Jumeirah”", ("property",), ()) == {"property": "Villa 7, Jumeirah"}
    for text, why in [('property="Villa', "close the quotes"), ("villa", "'villa' is not key=value"),
                      ("colour=red", "unknown key 'colour'"), ("price=1 price=2", "price given twice"),
                      ("price=1", "missing type")]:
        with pytest.raises(registry.UsageError, match=why):
            key_values(text, ("price", "type"), ("price", "type"))


def test_an_agent_records_closes_and_is_paid_and_admins_decide(store):
    got = say(store, AGENT, NEW)
    assert got.startswith("Deal D-000001 recorded at stage lead: D-000001 lead: Villa 12, Palm, villa sale 2000000")
    assert "D-000001 lead" in say(store, AGENT, "!deals")
    assert say(store, AGENT, "!stage d-000001 offer") == "Deal D-000001 is now offer."
    closed = say(store, AGENT, "!close-deal D-000001", config=Config(commission=Commission(vat_pct=10.0)))
    assert closed == ("Deal D-000001 is now closed. Commission C-000001: 40000.00 AED + VAT 4000.00 (sale-2pct), "
                      "approved.")
    again = say(store, AGENT, "!close-deal D-000001")
    assert again == "Deal D-000001 was already closed: nothing changed; its commission line C-000001 stands (approved)."
    with store.read() as txn:
        assert [x.kind for x in ledger.all(txn)] == ["earned"]
    assert "balance 40000.00 AED" in say(store, AGENT, "!my-earnings month")
    assert say(store, AGENT, "!request-payment").startswith("Payout request P-000001: 40000.00 AED for 1 line(s)")
    assert "already has an open payout request P-000001" in say(store, AGENT, "!request-payment")
    assert say(store, AGENT, "!pay P-000001") == DENIED
    assert say(store, ADMIN, "!pay p-000001").startswith("Paid P-000001: 40000.00 AED to +971500000002")
    assert say(store, ADMIN, "!pay P-000001").startswith("Not done: payout P-000001 was already paid")
    assert "balance 0.00 AED" in say(store, AGENT, "!my-earnings")


def test_a_commission_above_the_threshold_waits_for_an_admin(store):
    say(store, AGENT, NEW.replace("2,000,000", "5000000"))
    assert "100000.00 AED + VAT 5000.00 (sale-2pct), pending approval" in say(store, AGENT, "!close-deal D-000001")
    assert say(store, AGENT, "!approve C-000001") == DENIED
    assert say(store, ADMIN, "!reject C-000001").startswith("Usage: !reject ID REASON")
    assert say(store, ADMIN, "!approve D-000001").startswith("Approved C-000001 (deal D-000001, +971500000002)")
    assert "already approved" in say(store, ADMIN, "!approve C-000001")
    say(store, AGENT, NEW)
    say(store, AGENT, "!close-deal D-000002")
    assert say(store, ADMIN, "!reject C-000002 price was wrong, redo") == \
        "Not done: commission C-000002 cannot be decided: it is already approved"


def test_strangers_are_refused_and_the_attempt_is_stored(store):
    for text in (NEW, "!deals", "!my-earnings", "!request-payment", "!calc price=1 type=villa transaction=sale"):
        assert say(store, STRANGER, text) == AGENTS_ONLY
    with store.read() as txn:
        denied = [e for e in events.recent(txn, limit=20) if e.kind == "agent_denied"]
        assert {e.data["command"] for e in denied} == {"new-deal", "deals", "my-earnings", "request-payment", "calc"}
        assert deals.all(txn) == []


def test_an_agent_works_on_their_own_deals_only_and_bad_input_changes_nothing(store):
    say(store, AGENT, NEW)
    assert say(store, OTHER_AGENT, "!close-deal D-000001") == "Not done: deal D-000001 is not yours"
    assert "D-000001" not in say(store, OTHER_AGENT, "!deals")
    assert say(store, OTHER_AGENT, NEW + " agent=+971500000002").startswith("Usage: !new-deal")
    assert "unknown transaction 'rent'" in say(store, AGENT, NEW.replace("sale", "rent", 1))
    assert "price must be above 0" in say(store, AGENT, NEW.replace("2,000,000", "-5"))
    assert "needs a reason" in say(store, AGENT, "!stage D-000001 cancelled")
    with store.read() as txn:
        assert [d.id for d in deals.all(txn)] == ["D-000001"] and deals.get(txn, "D-000001").stage == "lead"
    # An admin may act for an agent, and sees every deal.
    assert say(store, ADMIN, NEW + " agent=+971500000003").startswith("Deal D-000002 recorded")
    assert "D-000001" in say(store, ADMIN, "!deals") and "D-000002" in say(store, ADMIN, "!deals")


def test_a_nested_transaction_drops_its_writes_when_it_raises_and_keeps_them_when_it_returns(store):
    """What the chat commands rely on to refuse half-way inside the inbound transaction."""
    def outer(txn):
        events.append(txn, "inbound", MASTER)             # the inbound message's own write

        def half_way(t):
            book.add_agent(t, "+971500000004", "Half")
            raise book.DealError("refused after a write")
        with pytest.raises(book.DealError):
            txn.nested(half_way)
        txn.nested(lambda t: book.add_agent(t, "+971500000005", "Kept"))
    store.write(outer)
    with store.read() as txn:
        from storage import agents
        assert agents.get(txn, "+971500000004") is None and agents.get(txn, "+971500000005").name == "Kept"
        assert [e.kind for e in events.recent(txn, limit=5)] == ["inbound"]


def test_the_commission_section_reaches_the_commands_as_decimal_settings():
    from decimal import Decimal

    from deals.commands import commission_settings
    s = commission_settings(Config(commission=Commission(vat_pct=5.5, currency="USD")))
    assert (s.vat_pct, s.currency) == (Decimal("5.5"), "USD")
    assert commission_settings(None).vat_pct == Decimal("5")


def test_a_last_parameter_named_text_takes_the_rest_of_the_message_as_typed(store):
    from chat.dispatch import chat_arguments

    def reject(call, ref: str, text: str): ...
    def calc(call, text: str = ""): ...
    cmd = registry.command("x", runs_in="session", chat="x")
    r, c = cmd(reject).command, cmd(calc).command
    assert chat_arguments(r, [], '  C-1   price was  wrong, "redo" ') == \
        {"ref": "C-1", "text": 'price was  wrong, "redo"'}
    with pytest.raises(registry.UsageError):
        chat_arguments(r, [], "C-1")
    assert chat_arguments(c, [], 'a="b c"') == {"text": 'a="b c"'} and chat_arguments(c, [], "") == {}
    # what respond gives it: the text after the command word, spacing and quotes kept
    assert say(store, ADMIN, '!reject   C-000009  "not ours",  sorry') == "Not done: no commission line 'C-000009'"
    say(store, AGENT, NEW.replace("2,000,000", "5000000"))
    say(store, AGENT, "!close-deal D-000001")
    assert say(store, ADMIN, '!reject c-000001  "not ours",  sorry') == \
        'Rejected C-000001 (deal D-000001, +971500000002): "not ours",  sorry.'
