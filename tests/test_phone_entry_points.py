"""Every place a phone number enters normalises it to one ASCII E.164 key (issue 12):
the sim's wire protocol, neonize's JIDs, the CLI's options."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from cli import main
from transports.neonize.mapping import phone_of_jid
from transports.sim import control
from transports.sim.server import SimServer

MASTER = "+971505760056"


@pytest.fixture
def sim(tmp_path):
    server = SimServer("127.0.0.1", 0, str(tmp_path / "sim-state"))
    server.start_in_thread()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize("sender", ["+447700900001\n", "+44770090000١", "+447700900001 ", "+1234567"])
def test_the_sim_refuses_a_sender_that_is_not_exactly_e164(sim, sender):
    with control.ControlClient("127.0.0.1", sim.port) as c:
        with pytest.raises(control.SimBadRequest):
            c.call("customer_send", **{"from": sender, "to": MASTER, "text": "hi"})
        c.call("customer_send", **{"from": "+447700900001", "to": MASTER, "text": "hi"})
    assert sim.state.pending(MASTER)[0]["from"] == "+447700900001"
    assert len(sim.state.pending(MASTER)) == 1


def _jid(user, server="s.whatsapp.net"):
    return SimpleNamespace(User=user, Server=server, Device=0)


@pytest.mark.parametrize("user, want", [
    ("971501234567", "+971501234567"),
    ("٩٧١٥٠١٢٣٤٥٦٧", "+971501234567"),     # the same key as its ASCII spelling
    ("971501234567\n", ""),
    ("97150123", "+97150123"),
    ("0971501234567", ""),
    ("9715012345671234", ""),              # 16 digits
])
def test_a_neonize_jid_becomes_one_ascii_key_or_nothing(user, want):
    assert phone_of_jid(_jid(user)) == want


@pytest.mark.parametrize("args", [
    ["sim", "send", "--from", "+447700900001\n", "--to", MASTER, "hi"],
    ["sim", "send", "--from", "+447700900001", "--to", MASTER + "\t", "hi"],
    ["send", "+4477009\x0000001", "hi"],
    ["master", "remove", "+¹²³⁴⁵⁶⁷⁸⁹"],
])
def test_cli_phone_options_refuse_control_characters_as_usage_errors(tmp_path, args):
    r = CliRunner().invoke(main, [*args, "--home", str(tmp_path), "--port", "1"])
    assert r.exit_code == 2, r.output
    assert "E.164" in r.output
