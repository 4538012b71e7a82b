"""Failover, outbox and balancing on a real daemon and the simulated network.

The scenarios the replaced system planned and never made work: 2 masters
balanced; the primary logged out (its conversations, pending messages and a
hand-over note go to the secondary); recovery; a cascade down to the third
master; all down (held, nothing lost, delivered once one returns).
"""
import os
import time

import pytest

import daemon_support
from conftest import FAST_CONFIG, Daemon
from runtime import procs
from transports.sim import control

pytestmark = pytest.mark.slow   # a real daemon end to end: `pytest -m "not slow"` skips it

P, S, T = "+971505760056", "+971553633595", "+971507777777"


def poll(fn, timeout=20.0, every=0.1, what="condition"):
    """daemon_support.poll with this module's argument order."""
    return daemon_support.poll(what, fn, timeout, every)


@pytest.fixture
def make_daemon(home, port):
    started = []

    def make(extra: str = "") -> Daemon:
        """`extra` replaces FAST_CONFIG's [limits] section (and may add sections)."""
        assert "[limits]\nenabled = false\n" in FAST_CONFIG, "conftest's FAST_CONFIG changed its [limits]"
        with open(os.path.join(home, "config.toml"), "w") as f:
            text = FAST_CONFIG.replace("[limits]\nenabled = false\n", extra or "[limits]\nenabled = false\n")
            # These scenarios watch the notes go out at once (note_mode = "on_next_message",
            # the default, is tests/test_outbound_e2e.py's).
            paced = 'note_mode = "paced"\n'
            text = (text.replace("[failover]\n", "[failover]\n" + paced) if "[failover]\n" in text
                    else text + "[failover]\n" + paced)
            f.write(text)
        d = Daemon(home, port)
        daemon_support.start_daemon(d)
        started.append(d)
        return d
    yield make
    try:
        for d in started:
            d.stop()
    finally:
        procs.kill_all(procs.processes_of(home))


def add_masters(d: Daemon, *specs):
    for phone, name, role, prio in specs:
        d.cli("master", "add", phone, "--name", name, "--role", role, "--priority", str(prio))
        d.cli("link", "master", phone)


def inbox(d: Daemon, customer: str) -> list[dict]:
    return control.inbox("127.0.0.1", d.sim_port, customer)


def owners(d: Daemon) -> dict[str, str]:
    return {c["customer"]: c["master"] for c in d.json("conversations")}


def test_two_masters_balanced_then_primary_logged_out_then_recovered(make_daemon):
    # A 5 s gap per contact keeps a second reply to the same customer pending in the outbox.
    d = make_daemon("[limits]\nenabled = true\nreply_gap_s = 5.0\n"
                    "[failover]\nrestore_batch = 2\nrestore_step_s = 0.5\n")
    add_masters(d, (P, "Sales", "primary", 0), (S, "Backup", "backup", 1))

    # Balanced: first messages to new customers alternate between the masters.
    news = [f"+4477009000{i:02d}" for i in range(4)]
    for c in news:
        out = d.json("send", c, f"hello {c}")
        assert out["state"] in ("sent", "queued") and isinstance(out["id"], int)
    poll(lambda: all(inbox(d, c) for c in news), what="first messages delivered")
    by_master = {}
    for c, m in owners(d).items():
        by_master[m] = by_master.get(m, 0) + 1
    assert by_master == {P: 2, S: 2}
    assert d.json("load", "metrics")["balance_quality"] == 100.0

    # A customer of the primary asks twice: the second answer waits (per-contact gap).
    customer = "+447700900100"
    control.send("127.0.0.1", d.sim_port, customer, P, "!ping one")
    poll(lambda: [m for m in inbox(d, customer) if m["text"] == "pong one"], what="first pong")
    control.send("127.0.0.1", d.sim_port, customer, P, "!ping two")
    poll(lambda: [e for e in d.json("outbox") if e["to"] == customer and e["master"] == P],
         what="second pong pending for the primary")
    mine = sorted(c for c, m in owners(d).items() if m == P)
    assert customer in mine and len(mine) == 3

    d.cli("sim", "fault", P, "logout")
    poll(lambda: all(owners(d)[c] == S for c in mine), what="conversations owned by the secondary")
    poll(lambda: [m for m in inbox(d, customer) if m["text"] == "pong two" and m["from"] == S],
         timeout=15, what="pending reply delivered from the secondary")
    for c in mine:
        notes = poll(lambda c=c: [m for m in inbox(d, c) if "Backup here" in m["text"]],
                     what=f"hand-over note to {c}")
        assert len(notes) == 1 and notes[0]["from"] == S
    status = d.json("failover", "status")
    event = next(e for e in status["history"] if e["kind"] == "failover")
    assert event["status"] == "completed" and event["count"] == 3 and event["targets"] == {S: 3}
    assert next(m for m in status["masters"] if m["master"] == P)["failed_over"] is True
    assert d.cli("failover", "run", "+999", check=False).returncode == 2   # a usage error, no crash
    kinds = poll(lambda: {a["kind"] for a in d.json("alerts") if a["master"] == P} >=
                 {"failover_started", "failover_completed"}, what="failover alerts")
    assert kinds
    d.cli("balancer", "strategy", "least-loaded")
    assert d.json("load", "metrics")["strategy"] == "least-loaded"

    # Recovery: the primary takes new conversations at once; handed-over ones stay.
    d.cli("relink", "master", P)
    poll(lambda: next(m for m in d.json("masters") if m["phone"] == P)["health"] == "healthy",
         what="the primary healthy again")
    newcomer = "+447700900200"
    poll(lambda: d.json("send", newcomer, "welcome")["state"] == "sent", timeout=10, what="send")
    assert inbox(d, newcomer)[0]["from"] == P
    assert all(owners(d)[c] == S for c in mine)

    # ... unless restored: gradually, in batches (2 now, the third 0.5 s later).
    out = d.cli("failover", "restore", P).stdout
    assert "2 conversations restored" in out and "1 more" in out
    poll(lambda: all(owners(d)[c] == P for c in mine), what="restore completed")


def test_cascade_then_all_down_holds_everything_until_one_returns(make_daemon):
    d = make_daemon()
    add_masters(d, (P, "One", "primary", 0), (S, "Two", "backup", 1), (T, "Three", "backup", 2))
    customers = [f"+4477009003{i:02d}" for i in range(3)]
    for c in customers:
        control.send("127.0.0.1", d.sim_port, c, P, "!ping")
    poll(lambda: all(owners(d).get(c) == P for c in customers) and all(inbox(d, c) for c in customers),
         what="customers of the primary answered")

    # A restarted balancer learns the running sessions from the masters supervisor.
    import signal

    def balancer_pid():
        return next(a["pid"] for a in d.json("daemon", "status")["actors"] if a["name"] == "balancer")
    old_pid = balancer_pid()
    os.kill(old_pid, signal.SIGKILL)
    poll(lambda: balancer_pid() not in (None, old_pid), what="balancer restarted")

    d.cli("sim", "fault", P, "logout")
    poll(lambda: all(owners(d)[c] == S for c in customers), what="cascade step 1: to the secondary")
    poll(lambda: all(any(m["from"] == S for m in inbox(d, c)) for c in customers), what="notes from S")
    d.cli("sim", "fault", S, "logout")
    poll(lambda: all(owners(d)[c] == T for c in customers), what="cascade step 2: to the tertiary")
    poll(lambda: all(any(m["from"] == T for m in inbox(d, c)) for c in customers), what="notes from T")

    d.cli("sim", "fault", T, "logout")
    poll(lambda: next(m for m in d.json("failover", "status")["masters"] if m["master"] == T)["waiting"],
         what="the tertiary's failover waiting for a healthy master")
    held = d.cli("send", customers[0], "held while all are down")
    assert "queued" in held.stdout
    time.sleep(0.5)   # nothing may go out while every master is down (checked just below)
    assert not [m for m in inbox(d, customers[0]) if m["text"] == "held while all are down"]
    assert [e for e in d.json("outbox") if e["text"] == "held while all are down"]

    d.cli("relink", "master", S)   # one returns: the waiting failover completes, the outbox drains
    poll(lambda: all(owners(d)[c] == S for c in customers), what="waiting failover completed")
    got = poll(lambda: [m for m in inbox(d, customers[0]) if m["text"] == "held while all are down"],
               what="held message delivered")
    assert len(got) == 1 and got[0]["from"] == S
    poll(lambda: not d.json("outbox"), what="outbox drained")
    history = [e for e in d.json("failover", "status")["history"] if e["kind"] == "failover"]
    assert [e["status"] for e in history][:2] == ["completed", "waiting"]


def test_chaos_every_customer_message_is_answered(make_daemon):
    """Steady traffic while session processes are SIGKILLed and connections dropped."""
    import random
    import signal

    d = make_daemon()
    add_masters(d, (P, "One", "primary", 0), (S, "Two", "primary", 0))
    rng = random.Random(5)
    customers = {f"+4477009005{i:02d}": (P, S)[i % 2] for i in range(6)}
    sent: dict[str, str] = {}     # token → customer
    kills = drops = 0
    end = time.monotonic() + 20
    next_fault = time.monotonic() + 1.5
    n = 0
    while time.monotonic() < end:
        customer = rng.choice(sorted(customers))
        token = f"t{n}"
        n += 1
        control.send("127.0.0.1", d.sim_port, customer, customers[customer], f"!ping {token}")
        sent[token] = customer
        if time.monotonic() >= next_fault:
            victim = rng.choice((P, S))
            if rng.random() < 0.5:
                pid = next(m["pid"] for m in d.json("masters") if m["phone"] == victim)
                if pid:
                    os.kill(pid, signal.SIGKILL)
                    kills += 1
            else:
                control.fault("127.0.0.1", d.sim_port, victim, "disconnect")
                drops += 1
            next_fault = time.monotonic() + 2.0
        time.sleep(0.1)

    def answered():
        counts: dict[str, int] = {}
        for customer in customers:
            for m in inbox(d, customer):
                if m["text"].startswith("pong "):
                    counts[m["text"][5:]] = counts.get(m["text"][5:], 0) + 1
        return counts

    counts = poll(lambda: (c := answered()) and all(t in c for t in sent) and c, timeout=40, every=0.5,
                  what="every message answered")
    repeats = sum(v - 1 for v in counts.values())
    print(f"chaos: {len(sent)} messages, {kills} SIGKILLs, {drops} dropped connections, {repeats} repeats")
    assert kills + drops >= 5
    assert repeats <= max(2, len(sent) // 20)


def test_hung_master_declared_failed_by_the_ha_monitor_is_failed_over(make_daemon):
    """No dead device state here: the HA monitor's HealthChanged(failed) starts the failover."""
    import signal

    d = make_daemon("[limits]\nenabled = false\n[failover]\ngrace_s = 0\n")
    add_masters(d, (P, "One", "primary", 0), (S, "Two", "backup", 1))
    customers = ["+447700900601", "+447700900602"]
    for c in customers:
        control.send("127.0.0.1", d.sim_port, c, P, "!ping")
    poll(lambda: all(inbox(d, c) for c in customers) and all(owners(d).get(c) == P for c in customers),
         what="customers of the primary answered")
    pid = next(m["pid"] for m in d.json("masters") if m["phone"] == P)
    os.kill(pid, signal.SIGSTOP)   # hung: no heartbeats, the device state stays "connected"
    try:
        poll(lambda: all(owners(d)[c] == S for c in customers), what="conversations moved off the hung master")
    finally:
        if procs.alive(pid):
            os.kill(pid, signal.SIGCONT)
    poll(lambda: all(any(m["from"] == S for m in inbox(d, c)) for c in customers), what="notes from S")
    event = next(e for e in d.json("failover", "status")["history"] if e["kind"] == "failover")
    assert event["status"] == "completed" and event["count"] == 2 and "device" not in event["reason"]


def test_campaign_respects_the_daily_cap_skips_bad_lines_and_resumes_without_repeats(make_daemon, tmp_path):
    d = make_daemon("[limits]\nenabled = true\ncampaign_per_day = 2\ngap_min_s = 0.1\ngap_max_s = 0.1\n"
                    "pause_every = 0\ncampaign_hours = \"00:00-23:59\"\nreply_gap_s = 0.0\n")
    add_masters(d, (P, "One", "primary", 0), (S, "Two", "primary", 0))
    contacts = [f"+4477009007{i:02d}" for i in range(6)]
    csv_path = tmp_path / "contacts.csv"
    csv_path.write_text("phone,name\n" + "\n".join(f"{c},n{i}" for i, c in enumerate(contacts[:3]))
                        + "\nnot a phone,x\n" + "\n".join(f"{c},n" for c in contacts[3:]) + "\n")
    r = d.cli("campaign", "send", "--file", str(csv_path), "--text", "New menu!", "--name", "menu")
    assert "line 5" in r.stderr and "6 queued" in r.stdout
    # 2 masters x 2 a day: 4 go out, 2 wait for tomorrow; no master is overrun.
    poll(lambda: sum(1 for c in contacts if inbox(d, c)) == 4, what="4 campaign messages out")
    time.sleep(1.0)   # more time changes nothing: both masters are at their cap (checked below)
    assert sum(1 for c in contacts if inbox(d, c)) == 4
    senders = [inbox(d, c)[0]["from"] for c in contacts if inbox(d, c)]
    assert senders.count(P) == 2 and senders.count(S) == 2
    assert d.json("campaign", "status") == [{"campaign": "menu", "contacts": 6, "sent": 4, "pending": 2, "dead": 0}]
    again = d.json("campaign", "send", "--file", str(csv_path), "--text", "New menu!", "--name", "menu")
    assert again["queued"] == 0 and again["already"] == 6
    assert all(len(inbox(d, c)) <= 1 for c in contacts)


def test_too_many_failovers_pause_automatic_failover_until_resumed(make_daemon):
    d = make_daemon("[limits]\nenabled = false\n[failover]\nmax_per_window = 1\n")
    add_masters(d, (P, "One", "primary", 0), (S, "Two", "backup", 1))
    customer = "+447700900801"
    control.send("127.0.0.1", d.sim_port, customer, P, "!ping")
    poll(lambda: owners(d).get(customer) == P and inbox(d, customer), what="customer of the primary")
    d.cli("sim", "fault", P, "logout")
    poll(lambda: owners(d)[customer] == S, what="first failover")
    d.cli("relink", "master", P)
    poll(lambda: next(m for m in d.json("masters") if m["phone"] == P)["health"] == "healthy",
         what="the primary healthy again")
    d.cli("failover", "restore", P)
    poll(lambda: owners(d)[customer] == P, what="restored")

    d.cli("sim", "fault", P, "logout")   # the second within the window: paused, nothing moves
    poll(lambda: next(m for m in d.json("failover", "status")["masters"] if m["master"] == P)
         ["auto_failover"] == "paused", what="automatic failover paused")
    assert owners(d)[customer] == P
    poll(lambda: [a for a in d.json("alerts") if a["master"] == P and a["kind"] == "failover_paused"
                  and "resume" in a["text"]], what="alert: automatic failover paused")
    d.cli("failover", "resume", P)        # an admin acts: the failover runs now
    poll(lambda: owners(d)[customer] == S, what="failover after resume")
    assert next(m for m in d.json("failover", "status")["masters"] if m["master"] == P)["auto_failover"] == "on"


def test_a_crashed_session_back_within_the_grace_keeps_its_conversations(make_daemon):
    """SIGKILL: the HA monitor says failed at once, the supervisor restarts the session in
    milliseconds, and the balancer (grace_s = 2 by default) moves nobody."""
    import signal

    d = make_daemon()
    add_masters(d, (P, "One", "primary", 0), (S, "Two", "backup", 1))
    customer = "+447700900701"
    control.send("127.0.0.1", d.sim_port, customer, P, "!ping 1")
    poll(lambda: inbox(d, customer) and owners(d).get(customer) == P, what="the customer answered by P")
    pid = next(m["pid"] for m in d.json("masters") if m["phone"] == P)
    os.kill(pid, signal.SIGKILL)
    poll(lambda: any(a["kind"] == "master_failed" and a["master"] == P for a in d.json("alerts")),
         what="P declared failed")
    poll(lambda: next(m for m in d.json("masters") if m["phone"] == P)["health"] == "healthy",
         what="P healthy again")
    time.sleep(2.5)   # past the grace: a failover would have started by now
    assert owners(d)[customer] == P
    assert not [e for e in d.json("failover", "status")["history"] if e["kind"] == "failover"]
    control.send("127.0.0.1", d.sim_port, customer, P, "!ping 2")
    poll(lambda: any(m["text"] == "pong 2" and m["from"] == P for m in inbox(d, customer)),
         what="P answers again")
