"""The balancing commands and CSV reading, against a real store and a stand-in gateway."""
import pytest

from commands.registry import CommandError, get
from cli_commands.outbound import read_contacts
from storage import Store, masters, outbox

P = "+971500000001"


class Gateway:
    """Just what the commands use of the admin gateway: its store, and the balancer poke."""

    def __init__(self, store):
        self.store, self.pokes = store, []

    def poke_balancer(self, reason):
        self.pokes.append(reason)

    def ask_balancer(self, command, then=None, **args):
        raise AssertionError("these tests use commands that answer from the store")


@pytest.fixture
def gw(tmp_path):
    with Store(str(tmp_path)) as store:
        store.write(lambda txn: masters.put(txn, masters.Master(P, "Sales")))
        yield Gateway(store)


def test_send_queues_durably_and_pokes_the_balancer(gw):
    data = get("send").fn(gw, to="+44 7700 900001", text_="hi", wait_s=0)
    assert data["state"] == "queued"
    with gw.store.read() as txn:
        entry = outbox.get(txn, data["id"])
    assert entry.to == "+447700900001" and entry.kind == "manual" and entry.state == "pending"
    assert gw.pokes == ["send"]


def test_send_rejects_bad_input_and_changes_nothing(gw):
    with pytest.raises(CommandError) as info:
        get("send").fn(gw, to="+447700900001", text_="hi", via="+971599999999", wait_s=0)
    assert P in str(info.value) and "unknown master" in str(info.value)
    with pytest.raises(CommandError):
        get("send").fn(gw, to="+447700900001", text_="   ", wait_s=0)
    with gw.store.read() as txn:
        assert outbox.depth(txn) == 0


def test_campaign_never_messages_a_contact_twice_and_resumes(gw):
    first = get("campaign.send").fn(gw, name="may", text_="menu", contacts=["+447700900001", "+447700900002"])
    assert (first["queued"], first["already"]) == (2, 0)
    # one is delivered, then the campaign is run again with more contacts (a resume)
    with gw.store.read() as txn:
        e = next(e for e in outbox.all(txn) if e.to == "+447700900001")
    gw.store.write(lambda txn: outbox.delivered(txn, e.id, "m1", P))
    again = get("campaign.send").fn(gw, name="may", text_="menu",
                                      contacts=["+447700900001", "+447700900002", "+447700900003"])
    assert (again["queued"], again["already"]) == (1, 2)
    status = get("campaign.status").fn(gw)
    assert status == [{"campaign": "may", "contacts": 3, "sent": 1, "pending": 2, "dead": 0}]
    with pytest.raises(CommandError):
        get("campaign.send").fn(gw, name="may", text_="another text", contacts=["+447700900009"])


def test_outbox_lists_dead_letters_and_retries_them(gw):
    entry, _ = gw.store.write(lambda txn: outbox.enqueue(txn, "+447700900001", "x"))
    for _ in range(3):
        gw.store.write(lambda txn: outbox.failed(txn, entry.id, "number not on WhatsApp", 0.0, 3))
    dead = get("outbox.list").fn(gw, dead=True)
    assert [d["id"] for d in dead] == [entry.id] and dead[0]["last_error"] == "number not on WhatsApp"
    assert get("outbox.list").fn(gw) == []
    with pytest.raises(CommandError):
        get("outbox.retry").fn(gw, id=999)
    assert get("outbox.retry").fn(gw, all_dead=True) == {"retried": [entry.id]}
    with gw.store.read() as txn:
        back = outbox.get(txn, entry.id)
    assert back.state == "pending" and back.attempts == 0


def test_conversations_filter_names_registered_masters_on_a_typo(gw):
    with pytest.raises(CommandError) as info:
        get("conversations.list").fn(gw, master="+971500000009")
    assert P in str(info.value)


def test_read_contacts_reports_malformed_lines_by_number(tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("name,phone\nAna,+44 7700 900001\nBob,not-a-phone\n\nCid,\nDan,+447700900001\nEve,+971501234567\n")
    phones, problems = read_contacts(str(path))
    assert phones == ["+447700900001", "+971501234567"]
    assert [p.split(":")[0] for p in problems] == ["line 3", "line 5", "line 6"]


def test_a_big_campaign_cannot_hide_the_replies_queued_after_it(tmp_path):
    with Store(str(tmp_path)) as store:
        def fill(txn):
            for i in range(30):
                outbox.enqueue(txn, f"+4477009{i:05d}", "menu", kind="campaign", key=f"c{i}")
            outbox.enqueue(txn, "+447700999999", "pong")
        store.write(fill)
        with store.read() as txn:
            got = outbox.pending(txn, now=None, limit=5, campaign_limit=10)
    # lanes (storage/outbox_lanes.py): the reply comes first, the campaign is read only to its cap
    assert [e.kind for e in got].count("campaign") == 10 and got[0].text == "pong"
