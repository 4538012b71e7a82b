"""config.toml values of the right type but the wrong meaning are refused when loaded,
by `whitecaves config check` and by `daemon start` (exit 1, one line, no traceback)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from runtime import config, config_rules, procs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (config.toml text, the key the error must name, a word of what is allowed): one per class of bad value
BAD = [
    ("[health]\nheartbeat_s = -1\n", "health.heartbeat_s", "seconds > 0"),
    ("[health]\nheartbeat_s = 0\n", "health.heartbeat_s", "seconds > 0"),
    ("[health]\nheartbeat_s = nan\n", "health.heartbeat_s", "seconds > 0"),
    ("[health]\nheartbeat_s = inf\n", "health.heartbeat_s", "<= 3600"),
    ("[health]\nheartbeat_s = 1e308\n", "health.heartbeat_s", "<= 3600"),
    ("[daemon]\nstop_timeout_s = -5\n", "daemon.stop_timeout_s", "> 0"),
    ("[outbox]\nmax_attempts = -1\n", "outbox.max_attempts", "from 1 to"),
    ("[logging]\nmax_bytes = 0\n", "logging.max_bytes", "from 1 to"),
    ("[supervisor]\nintensity = -1\n", "supervisor.intensity", "from 0 to"),
    ("[backoff]\nmin_s = -0.5\n", "backoff.min_s", "> 0"),
    ("[limits]\ntimezone = 'Mars/Olympus'\n", "limits.timezone", "IANA time zone"),
    ("[limits]\ntimezone = '../../etc/passwd'\n", "limits.timezone", "IANA time zone"),
    ("[chat]\ntimezone = 'Asia'\n", "chat.timezone", "IANA time zone"),
    ("[limits]\ncampaign_hours = '25:00-26:00'\n", "limits.campaign_hours", "HH:MM-HH:MM"),
    ("[limits]\ncampaign_hours = '18:00-08:00'\n", "limits.campaign_hours", "opening before closing"),
    ("[limits]\ncampaign_hours = 'all day'\n", "limits.campaign_hours", "HH:MM-HH:MM"),
    ("[chat]\noffice_hours = '09:00-09:00'\n", "chat.office_hours", "opening before closing"),
    ("[logging]\nlevel = 'loud'\n", "logging.level", "debug, info, warning, error, critical"),
    ("[daemon]\nbind = 'localhost:80'\n", "daemon.bind", "IP address"),
    ("[metrics]\nport = 70000\n", "metrics.port", "0 to 65535"),
    ("[sim]\nport = -1\n", "sim.port", "0 to 65535"),
    ("[failover]\nstrategy = 'random'\n", "failover.strategy", "round-robin, priority"),
    ("[failover]\nnote = 'Hi {customer}'\n", "failover.note", "{name}, {phone}"),
    ("[failover]\nnote = 'Hi {name'\n", "failover.note", "{name}, {phone}"),
    ("[failover]\nnote = 'Hi {0}'\n", "failover.note", "{name}, {phone}"),
    ("[limits]\ngap_min_s = 9.0\ngap_max_s = 5.0\n", "limits.gap_min_s", "at most gap_max_s"),
    ("[backoff]\nmin_s = 40.0\n", "backoff.min_s", "at most max_s"),
    ("[health]\ndegraded_after = 3\nfailed_after = 3\n", "health.degraded_after", "below failed_after"),
    ("[outbox]\nretry_min_s = 500.0\n", "outbox.retry_min_s", "at most retry_max_s"),
    ("[neonize]\ndatabase = 'mysql://x'\n", "neonize.database", "Postgres"),
    ("[health]\nheartbeat_s = " + "9" * 400 + "\n", "health.heartbeat_s", "must be float"),
    ("[commission]\nvat_pct = -1\n", "commission.vat_pct", "percentage from 0 to 100"),
    ("[commission]\nvat_pct = 101\n", "commission.vat_pct", "percentage from 0 to 100"),
    ("[commission]\nvat_pct = nan\n", "commission.vat_pct", "percentage from 0 to 100"),
    ("[commission]\nvat_pct = '5'\n", "commission.vat_pct", "must be float"),
    ("[commission]\ncurrency = 'aed'\n", "commission.currency", "3-letter ISO 4217"),
    ("[commission]\ncurrency = 'DIRHAM'\n", "commission.currency", "3-letter ISO 4217"),
]


def _write(home, text):
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(text)


@pytest.mark.parametrize("text, key, allowed", BAD)
def test_a_value_with_a_bad_meaning_is_refused_naming_key_value_and_allowed(tmp_path, text, key, allowed):
    _write(tmp_path, text)
    with pytest.raises(config.ConfigError) as e:
        config.load(str(tmp_path))
    assert key in str(e.value) and allowed in str(e.value)


@pytest.mark.parametrize("text", [
    "[failover]\nnote = 'Hi, {name} ({phone}) here {{literally}}'\n",
    "[failover]\nstrategy = 'least-loaded'\n",
    "[limits]\ncampaign_hours = '00:00-23:59'\ntimezone = 'UTC'\ngap_min_s = 0\ngap_max_s = 0\n",
    "[daemon]\nbind = '::1'\n[metrics]\nport = 65535\n",
    "[logging]\nlevel = 'debug'\n",
    "[commission]\nvat_pct = 0\ncurrency = 'USD'\n",
    "[commission]\nvat_pct = 5.5\n",
])
def test_good_values_load(tmp_path, text):
    _write(tmp_path, text)
    config.load(str(tmp_path))


def test_every_key_has_a_meaning_rule():
    keys = {(section, key) for section, key, _ in config.describe()}
    assert keys == set(config_rules.RULES)


def test_the_defaults_obey_the_rules():
    assert list(config_rules.problems(config.Config())) == []


def test_an_unreadable_or_undecodable_file_is_a_config_error(tmp_path):
    (tmp_path / "config.toml").write_bytes(b"[health]\nheartbeat_s = 1 # \xff\xfe\n")
    with pytest.raises(config.ConfigError):
        config.load(str(tmp_path))
    (tmp_path / "config.toml").unlink()
    (tmp_path / "config.toml").mkdir()
    with pytest.raises(config.ConfigError):
        config.load(str(tmp_path))


# --- property: nothing but ConfigError ever comes out of the loader --------

_KEYS = sorted({k for _, k, _ in config.describe()}) + ["x", ""]
_SECTIONS = sorted({s for s, _, _ in config.describe()}) + ["nope"]
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
                     st.sampled_from(["Asia/Dubai", "08:00-18:00", "{name}", "{", "127.0.0.1", "info",
                                      "round-robin", "Hi {customer}", "09:00-08:00"]),
                     st.datetimes(), st.lists(st.integers(), max_size=3))
_tables = st.dictionaries(st.sampled_from(_KEYS), _scalars, max_size=6)
_docs = st.dictionaries(st.sampled_from(_SECTIONS), st.one_of(_tables, _scalars), max_size=5)


@settings(max_examples=400, deadline=None)
@given(_docs)
def test_no_parsed_document_raises_anything_but_config_error(data):
    data = {k: v for k, v in data.items() if v is not None}
    try:
        config.from_dict(data)
    except config.ConfigError:
        pass


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(v), repr(v))
    if isinstance(v, int):
        return str(v)
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


_toml_scalars = st.one_of(st.booleans(), st.integers(), st.floats(), st.text(
    st.characters(blacklist_categories=("Cs", "Cc")), max_size=20))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(_SECTIONS), st.sampled_from(_KEYS), _toml_scalars), max_size=6),
       st.binary(max_size=40))
def test_no_file_raises_anything_but_config_error(tmp_path, entries, junk):
    lines = []
    for section, key, value in entries:
        lines += [f"[{section}]", f"{key or 'k'} = {_toml_value(value)}"]
    for text in ("\n".join(lines).encode(), junk, "\n".join(lines).encode() + junk):
        (tmp_path / "config.toml").write_bytes(text)
        try:
            config.load(str(tmp_path))
        except config.ConfigError:
            pass


# --- the CLI ----------------------------------------------------------------

def _cli(home, *args, timeout=30):
    env = dict(os.environ, WHITECAVES_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def test_config_check_says_ok_or_names_the_problem(tmp_path):
    ok = _cli(tmp_path, "config", "check")
    assert ok.returncode == 0 and ok.stdout.strip() == "config ok"
    _write(tmp_path, "[failover]\nstrategy = 'random'\n")
    bad = _cli(tmp_path, "config", "check")
    assert bad.returncode == 1 and "failover.strategy = 'random'" in bad.stderr
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    js = _cli(tmp_path, "config", "check", "--json")
    import json
    answer = json.loads(js.stdout)
    assert js.returncode == 1 and answer["ok"] is False and "failover.strategy" in answer["error"]


@pytest.mark.parametrize("text, key, allowed", [b for b in BAD if b[1] in {
    "health.heartbeat_s", "limits.timezone", "limits.campaign_hours", "limits.gap_min_s", "metrics.port",
    "failover.strategy", "failover.note", "logging.level", "daemon.bind", "supervisor.intensity",
    "backoff.min_s", "daemon.stop_timeout_s", "outbox.max_attempts", "logging.max_bytes"}])
def test_daemon_start_refuses_a_bad_config_at_once(home, port, text, key, allowed):
    _write(home, text)
    t0 = time.monotonic()
    r = _cli(home, "daemon", "start", "--transport", "sim", "--port", str(port))
    took = time.monotonic() - t0
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert key in r.stderr and allowed in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert took < 2.0 * _SLOW, f"{took:.2f} s"
    assert procs.processes_of(home) == []   # nothing was started


# The machine is shared: a Python start-up takes longer than usual under load.
_SLOW = float(os.environ.get("WHITECAVES_TEST_SLOWDOWN", "1.0"))
