"""Structured logs: one JSON object a line in `<home>/logs/whitecaves.log`.

Every actor process logs through structlog; the rendered JSON goes to the
stdlib root logger, which thespian replaces in each actor process by a
forwarder to its single logger process. That process (configured by
`log_defs`) owns the rotating file, so rotation is safe with many writers.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time

_static: dict = {}  # fields stamped on every line of this process (actor, master, pid)
_record_fields: dict = {}  # the same for plain stdlib records (thespian, the supervision library)
_factory_installed = False


def log_dir(home: str) -> str:
    return os.path.join(home, "logs")


def log_file(home: str) -> str:
    return os.path.join(log_dir(home), "whitecaves.log")


def _add_static(_logger, _name, event_dict):
    for k, v in _static.items():
        event_dict.setdefault(k, v)
    return event_dict


def name_process(**fields) -> None:
    """Stamp every stdlib log record made in this process with these fields (actor, master).

    A record factory rather than a handler filter: thespian swaps the
    handlers of each actor process after fork, and pickles the whole record
    to its logger process, so the fields travel with it."""
    global _factory_installed
    _record_fields.update({k: v for k, v in fields.items() if v is not None})
    if _factory_installed:
        return
    make = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = make(*args, **kwargs)
        for k, v in _record_fields.items():
            record.__dict__.setdefault(k, v)
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


def configure(level: str = "info", **static) -> None:
    """Configure structlog in this process; `static` fields go on every line."""
    import structlog  # here, not at the top: the CLI reads logs without paying its ~0.25 s import
    _static.clear()
    _static.update({k: v for k, v in static.items() if v is not None})
    _static["pid"] = os.getpid()
    name_process(**{k: static.get(k) for k in ("actor", "master")})
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
            _add_static,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(default=str),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.stdlib.LoggerFactory(),
        # thespian swaps the root logger in each forked actor: look it up every time
        cache_logger_on_first_use=False,
    )


class JsonLineFormatter(logging.Formatter):
    """In the logger process: pass structlog's JSON through, wrap anything else."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built by thespian's logger process as it applies log_defs: the one place our code
        # runs there. Make it die with the Admin that forked it, or a SIGKILLed daemon
        # leaves its logger holding the Admin port.
        import multiprocessing
        if multiprocessing.parent_process() is not None:
            from runtime import procs
            procs.die_with_parent()

    def format(self, record: logging.LogRecord) -> str:
        msg = record.getMessage()
        if msg.startswith("{"):
            try:
                json.loads(msg)
                return msg
            except ValueError:
                pass
        line = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
                "level": record.levelname.lower(), "logger": record.name, "event": msg}
        for key in ("actor", "master"):
            if getattr(record, key, None):
                line[key] = getattr(record, key)
        line["pid"] = record.process
        if getattr(record, "actorAddress", None):
            line["actor_address"] = record.actorAddress
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, default=str)


class ConsoleFormatter(JsonLineFormatter):
    """For `daemon start --foreground`: the same lines, rendered for people."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        import structlog.dev
        self._render = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())

    def format(self, record: logging.LogRecord) -> str:
        event = json.loads(super().format(record))
        return self._render(None, event.get("level", "info"), event)


def log_defs(home: str, level: str = "info", max_bytes: int = 20 << 20, backups: int = 5,
             foreground: bool = False) -> dict:
    """The logging config thespian's logger process applies (thespian's logDefs)."""
    os.makedirs(log_dir(home), exist_ok=True)
    handlers = {
        "file": {"class": "logging.handlers.RotatingFileHandler", "filename": log_file(home),
                 "maxBytes": max_bytes, "backupCount": backups, "formatter": "json"},
    }
    if foreground:
        handlers["console"] = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                               "formatter": "console"}
    return {
        "version": 1,
        "formatters": {"json": {"()": "runtime.logs.JsonLineFormatter"},
                       "console": {"()": "runtime.logs.ConsoleFormatter"}},
        "handlers": handlers,
        "root": {"handlers": list(handlers), "level": level.upper()},
        "disable_existing_loggers": False,
    }


def read_lines(home: str):
    """Parsed log lines, oldest first, across rotated files."""
    base = log_file(home)
    files = [f"{base}.{i}" for i in range(20, 0, -1)] + [base]
    for name in files:
        if not os.path.exists(name):
            continue
        with open(name, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue
