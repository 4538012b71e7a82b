"""`whitecaves agent edit` (agents/commands.py `agent.edit`) and the licence alerts it re-arms.

The CLI runs in-process (click's CliRunner); its `request` goes to a stand-in
gateway that does what actors/gateway.py does with a request: look the command
up in the registry, run its `check` in a read transaction, then the command,
and turn a CommandError into the CLI's error and exit status.
"""
from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from agents import timers
from cli import main
from commands import registry as commands
from commands.registry import CommandError
from daemon.client import DaemonError
from deals import book
from deals import commands as dc
from health import record
from runtime.config import Config
from storage import Store, admins, events, outbox
from storage import agents as agents_store

A, B, NOBODY = "+971500000001", "+971500000002", "+971500000077"
ADMIN, ADMIN2 = "+971500000099", "+971500000098"
PLANS = '[[plan]]\nname = "p70"\nagent_pct = "70"\n'
DUBAI = ZoneInfo("Asia/Dubai")


class Gateway:
    """What the gateway commands use of actors/gateway.py: the store, the config, the balancer's poke."""

    def __init__(self, store):
        self.store, self.cfg, self.pokes = store, Config(), 0

    def poke_balancer(self, reason):
        self.pokes += 1

    def request(self, where, command, /, **args):
        cmd = commands.get(command)
        try:
            if cmd.check is not None:
                with self.store.read() as txn:
                    cmd.check(txn, **args)
            return cmd.fn(self, **args)
        except CommandError as e:
            raise DaemonError(str(e), code=e.code) from None


@pytest.fixture
def gw(tmp_path, monkeypatch):
    with Store(str(tmp_path / "store")) as store:
        g = Gateway(store)
        store.write(lambda t: (book.import_rules(t, PLANS), admins.add(t, ADMIN), admins.add(t, ADMIN2)))
        dc.agent_add(g, A, "Ali", brn="111", brn_expiry="2099-01-01", regions=["Marina"])
        dc.agent_add(g, B, "Bea")   # no card yet
        monkeypatch.setattr("cli_commands.agents.request", g.request)
        yield g


def cli(*args):
    return CliRunner().invoke(main, [*args, "--home", "/tmp/unused-whitecaves-home"])


def agent(gw, phone):
    with gw.store.read() as t:
        return agents_store.get(t, phone)


def edits(gw):
    with gw.store.read() as t:
        return [e.data for e in reversed(events.recent(t, kinds=("agent_edited",)))]


def day(days_from_today: int) -> str:
    return (dt.datetime.now(DUBAI).date() + dt.timedelta(days=days_from_today)).isoformat()


def at(expiry: str, days_before: int) -> float:
    """Noon in Dubai `days_before` the expiry."""
    d = dt.date.fromisoformat(expiry) - dt.timedelta(days=days_before)
    return dt.datetime(d.year, d.month, d.day, 12, tzinfo=DUBAI).timestamp()


def alerts(gw):
    with gw.store.read() as t:
        return [(a["kind"], a["level"], a["text"]) for a in record.alerts_since(t, 0.0)]


# --- the edit ----------------------------------------------------------------------------------

def test_edit_changes_what_is_given_keeps_the_rest_and_records_old_and_new(gw):
    out = cli("agent", "edit", A, "--name", "Ali Khan", "--kind", "freelancer", "--brn", "222",
              "--brn-expiry", "2030-01-31", "--regions", "Marina,JVC", "--specialties", "sale", "--plan", "p70")
    assert out.exit_code == 0, out.output
    assert "name: 'Ali' -> 'Ali Khan'" in out.output and "brn_expiry: '2099-01-01' -> '2030-01-31'" in out.output
    a = agent(gw, A)
    assert (a.name, a.kind, a.brn, a.brn_expiry, a.regions, a.specialties, a.plan, a.on_duty) == \
        ("Ali Khan", "freelancer", "222", "2030-01-31", ["Marina", "JVC"], ["sale"], "p70", True)
    [edit] = edits(gw)
    assert edit["agent"] == A and edit["by"] == "cli"
    assert edit["changes"] == {"name": ["Ali", "Ali Khan"], "kind": ["employee", "freelancer"],
                               "brn": ["111", "222"], "brn_expiry": ["2099-01-01", "2030-01-31"],
                               "regions": [["Marina"], ["Marina", "JVC"]], "specialties": [[], ["sale"]],
                               "plan": ["", "p70"]}

    # One field at a time; "" clears a plan or regions; the card given to an agent who had none.
    assert cli("agent", "edit", A, "--plan", "", "--regions", "").exit_code == 0
    assert cli("agent", "edit", B, "--brn", "333", "--brn-expiry", "2031-02-28").exit_code == 0
    assert (agent(gw, A).plan, agent(gw, A).regions, agent(gw, A).name) == ("", [], "Ali Khan")
    assert (agent(gw, B).brn, agent(gw, B).brn_expiry) == ("333", "2031-02-28")
    # The same values again: nothing changed, nothing recorded.
    again = cli("agent", "edit", B, "--brn-expiry", "2031-02-28")
    assert again.exit_code == 0 and "nothing changed" in again.output and len(edits(gw)) == 3


def test_an_expired_card_is_accepted_with_the_warning_agent_add_gives(gw):
    out = cli("agent", "edit", A, "--brn-expiry", "2020-01-01")
    assert out.exit_code == 0 and "expired on 2020-01-01" in out.stderr
    assert agent(gw, A).brn_expiry == "2020-01-01"


@pytest.mark.parametrize("args, error", [
    (["--name", ""], "an agent needs a name"),
    (["--name", "x" * 101], "at most 100 characters"),
    (["--name", "two\nlines"], "one line"),
    (["--kind", "boss"], "'boss' is not one of"),                       # click's choice, as agent add
    (["--brn", "12 34!"], "--brn must be the card's number"),
    (["--brn-expiry", "2026-13-01"], "--brn-expiry must be a date YYYY-MM-DD"),
    (["--brn", "", "--brn-expiry", "2030-01-01"], "--brn and --brn-expiry go together"),
    (["--plan", "gold"], "no plan 'gold' in the commission rules in force; known: p70"),
    ([], "nothing to change"),
])
def test_each_bad_value_is_refused_and_changes_nothing(gw, args, error):
    before_a, before_b = agent(gw, A), agent(gw, B)
    out = cli("agent", "edit", A, *args)
    assert out.exit_code == 2 and error in out.output, out.output
    # A card number without an expiry, for the agent who has no card: refused too.
    out_b = cli("agent", "edit", B, "--brn", "555")
    assert out_b.exit_code == 2 and "--brn and --brn-expiry go together" in out_b.output
    assert (agent(gw, A), agent(gw, B), edits(gw)) == (before_a, before_b, [])


def test_the_check_refuses_what_the_cli_cannot_send(gw):
    """Other callers (the registry's check runs for every caller): the same checks as agent add."""
    with pytest.raises(DaemonError, match="no empty entries"):
        gw.request(None, "agent.edit", phone=A, regions=["Marina", " "])
    with pytest.raises(DaemonError, match="unknown kind 'boss'"):
        gw.request(None, "agent.edit", phone=A, kind="boss")
    assert edits(gw) == [] and agent(gw, A).regions == ["Marina"]


def test_an_unknown_agent_is_refused_as_agent_show_refuses_it(gw):
    out = cli("agent", "edit", NOBODY, "--name", "Nobody")
    shown = cli("agent", "show", NOBODY)
    assert out.exit_code == shown.exit_code == 2
    assert f"{NOBODY} is not an agent" in out.output
    with gw.store.read() as t:
        assert agents_store.get(t, NOBODY) is None


# --- the licence alerts ------------------------------------------------------------------------

def test_licence_alerts_are_in_the_alert_history_and_reach_each_admin_once(gw):
    expiry = day(30)
    gw.store.write(lambda t: agents_store.put(t, agents_store.Agent(B, "Bea", brn="7", brn_expiry=expiry)))
    assert gw.store.write(lambda t: timers.licence_due(t, at(expiry, 30))) == 2   # one per admin
    assert gw.store.write(lambda t: timers.licence_due(t, at(expiry, 30))) == 0
    [(kind, level, text)] = alerts(gw)
    assert (kind, level) == ("licence_expiring", "warning")
    assert f"the BRN 7 of Bea ({B}) expires on {expiry}, in 30 days" in text
    with gw.store.read() as t:
        sent = [(e.to, e.text) for e in outbox.all(t) if e.kind == "alert"]
    assert sorted(to for to, _ in sent) == [ADMIN2, ADMIN]          # each admin once, nobody twice
    assert all(body.startswith("\U0001F7E0 WARNING · Licence expiring: the BRN 7 of Bea") for _, body in sent)


def test_a_renewed_card_is_warned_about_again_at_30_and_7_days_once_each(gw):
    old = day(20)
    gw.store.write(lambda t: agents_store.put(t, agents_store.Agent(B, "Bea", brn="7", brn_expiry=old)))
    gw.store.write(lambda t: timers.licence_due(t, time.time()))          # the 30-day alert for the old card
    assert [t for _, _, t in alerts(gw)] == [f"the BRN 7 of Bea ({B}) expires on {old}, in 20 days; "
                                             "deals closed after that pay no commission until it is renewed."]

    near = day(25)   # a card renewed to a date within 30 days: its 30-day alert goes at once, by the edit
    assert cli("agent", "edit", B, "--brn", "8", "--brn-expiry", near).exit_code == 0
    assert gw.pokes == 1 and len(alerts(gw)) == 2 and f"expires on {near}" in alerts(gw)[-1][2]
    assert gw.store.write(lambda t: timers.licence_due(t, time.time())) == 0

    far = day(400)   # renewed for a year: nothing now; 30 and 7 days before the new date, once each
    assert cli("agent", "edit", B, "--brn-expiry", far).exit_code == 0
    sent = []
    for days_before in (31, 30, 30, 29, 8, 7, 7, 6, 0):
        if gw.store.write(lambda t: timers.licence_due(t, at(far, days_before))):
            sent.append(days_before)
    assert sent == [30, 7]
    assert [t.split(", in ")[1].split(";")[0] for _, _, t in alerts(gw)][-2:] == ["30 days", "7 days"]
    assert gw.pokes == 1   # the far renewal queued nothing at once
