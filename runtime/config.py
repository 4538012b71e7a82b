"""`<home>/config.toml`: every tunable, with defaults that need no file at all.

Each section is a dataclass; the file may set any subset of its keys. An
unknown section or key, a value of the wrong type, or one whose meaning is
wrong (a range, a format, a placeholder: runtime/config_rules.py) stops the
start with an error that names the key, the value and what is allowed
(`ConfigError`).
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field

from runtime import config_rules


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Daemon:
    bind: str = "127.0.0.1"        # every socket of the daemon listens here only
    start_timeout_s: float = 15.0
    stop_timeout_s: float = 10.0


@dataclass(frozen=True)
class Health:
    heartbeat_s: float = 5.0
    degraded_after: int = 1        # missed heartbeats
    failed_after: int = 3
    max_recovery_attempts: int = 5


@dataclass(frozen=True)
class Backoff:
    min_s: float = 0.5
    max_s: float = 30.0
    jitter: float = 0.2
    reset_after_s: float = 10.0


@dataclass(frozen=True)
class Supervisor:
    intensity: int = 3             # root: more restarts than this within period_s → give up
    period_s: float = 5.0
    masters_intensity: int = 1000  # the masters supervisor is tolerant: backoff limits a flapping master
    masters_period_s: float = 5.0


@dataclass(frozen=True)
class Limits:
    enabled: bool = True
    campaign_per_day: int = 45
    gap_min_s: float = 3.0
    gap_max_s: float = 5.0
    pause_every: int = 5
    pause_s: float = 60.0
    campaign_hours: str = "08:00-18:00"
    timezone: str = "Asia/Dubai"
    reply_gap_s: float = 1.0       # per contact


@dataclass(frozen=True)
class Session:
    replaced_wait_s: float = 30.0
    pairing_timeout_s: float = 160.0
    send_timeout_s: float = 30.0
    replace_forgiven_s: float = 600.0   # connected this long after a replace retry: the next replace retries again
    backlog_max_age_s: float = 600.0    # older when it reaches the session: stored, never auto-answered
    media_max_bytes: int = 16 << 20     # a bigger photo, voice note or document is not downloaded
    typing_per_char_s: float = 0.04     # "typing…" before a reply: this much a character (balancing/pacing.py),
    typing_min_s: float = 1.0           # at least this long,
    typing_max_s: float = 6.0           # at most this long; 0 = no typing presence
    read_receipts: bool = True          # mark the message a reply answers read
    reconnect_grace_s: float = 20.0     # after a drop, whatsmeow's own reconnect gets this long (masters/reconnect.py)


@dataclass(frozen=True)
class Outbox:
    max_attempts: int = 8
    retry_min_s: float = 1.0
    retry_max_s: float = 300.0


@dataclass(frozen=True)
class Failover:
    strategy: str = "round-robin"
    note: str = "Hello! {name} here, continuing your conversation with White Caves. How can we help?"
    note_mode: str = "on_next_message"   # or "paced" (balancing/notes.py)
    lock_timeout_s: float = 30.0
    max_per_window: int = 3
    window_s: float = 3600.0
    restore_batch: int = 50        # `failover restore`: conversations moved back per step
    restore_step_s: float = 5.0
    grace_s: float = 2.0           # a crashed or hung master back to healthy within this keeps its conversations


@dataclass(frozen=True)
class Alerts:
    repeat_s: float = 300.0
    queue_warning: int = 1000
    queue_critical: int = 5000


@dataclass(frozen=True)
class Metrics:
    port: int = 0                  # 0 = no Prometheus endpoint


@dataclass(frozen=True)
class Sim:
    port: int = 0                  # 0 = the daemon's port + 1
    keepalive_s: float = 10.0      # sessions ping the sim this often; 2x unanswered = dropped


@dataclass(frozen=True)
class Chat:
    welcome: str = ""              # empty = no welcome reply
    after_hours: str = ""          # empty = no after-hours reply
    office_hours: str = "09:00-18:00"
    timezone: str = "Asia/Dubai"
    human_mute_s: float = 3600.0   # after a person answers from the phone, the bot is quiet this long
    auto_reply_budget: int = 3     # automatic replies (welcome, after-hours, unknown command) per contact per hour


@dataclass(frozen=True)
class Logging:
    level: str = "info"
    max_bytes: int = 20 << 20
    backups: int = 5


@dataclass(frozen=True)
class Neonize:
    database: str = ""             # a Postgres DSN; empty = one sqlite file per master


@dataclass(frozen=True)
class Commission:
    vat_pct: float = 5.0           # percent, on the rounded commission (deals/commission.py)
    currency: str = "AED"          # ISO 4217, shown with every amount


@dataclass(frozen=True)
class Leads:
    strategy: str = "round_robin"  # runtime/vocabulary.py LEAD_STRATEGIES
    accept_timeout_s: float = 900.0
    protection_days: int = 30


@dataclass(frozen=True)
class Config:
    daemon: Daemon = field(default_factory=Daemon)
    health: Health = field(default_factory=Health)
    backoff: Backoff = field(default_factory=Backoff)
    supervisor: Supervisor = field(default_factory=Supervisor)
    limits: Limits = field(default_factory=Limits)
    session: Session = field(default_factory=Session)
    outbox: Outbox = field(default_factory=Outbox)
    failover: Failover = field(default_factory=Failover)
    alerts: Alerts = field(default_factory=Alerts)
    metrics: Metrics = field(default_factory=Metrics)
    sim: Sim = field(default_factory=Sim)
    chat: Chat = field(default_factory=Chat)
    logging: Logging = field(default_factory=Logging)
    neonize: Neonize = field(default_factory=Neonize)
    commission: Commission = field(default_factory=Commission)
    leads: Leads = field(default_factory=Leads)


def path(home: str) -> str:
    return os.path.join(home, "config.toml")


def load(home: str) -> Config:
    """Read `<home>/config.toml` (absent = all defaults)."""
    try:
        with open(path(home), "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return Config()
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path(home)}: not valid TOML: {e}") from None
    except OSError as e:
        raise ConfigError(f"{path(home)}: cannot read it: {e.strerror}") from None
    return from_dict(data, source=path(home))


def from_dict(data: dict, source: str = "config") -> Config:
    sections = {f.name: f for f in dataclasses.fields(Config)}
    built = {}
    for name, values in data.items():
        if name not in sections:
            raise ConfigError(f"{source}: unknown section [{name}]; known: {', '.join(sections)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        cls = sections[name].default_factory
        built[name] = _section(cls, name, values, source)
    cfg = Config(**built)
    for problem in config_rules.problems(cfg):   # the first broken meaning rule stops the start
        raise ConfigError(f"{source}: {problem}")
    return cfg


def _section(cls, name: str, values: dict, source: str):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(f"{source}: unknown key {name}.{key}; known: {', '.join(fields)}")
        want = type(fields[key].default)
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            ok = abs(value) < 1e300   # TOML integers are unbounded; float() of a huge one overflows
            values = {**values, key: float(value)} if ok else values
        if not ok:
            raise ConfigError(f"{source}: {name}.{key} must be {want.__name__}, got {value!r}")
    return cls(**values)


def describe() -> list[tuple[str, str, object]]:
    """(section, key, default) for every tunable: the README table is made from this."""
    rows = []
    for sec in dataclasses.fields(Config):
        for f in dataclasses.fields(sec.default_factory):
            rows.append((sec.name, f.name, f.default))
    return rows
