"""--image / --document / --video on `send` and `campaign send`: one file, checked and
stored once in the home before anything is queued (balancing/media.py)."""
from __future__ import annotations

import functools

import click

from balancing.media import MediaError, store_file
from daemon.client import DaemonError


def media_options(kinds: tuple[str, ...]):
    """Add one --KIND PATH option per kind; the command receives `media_file` = (kind, path) | None."""
    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            given = [(k, kwargs.pop(k)) for k in kinds if kwargs.get(k) is not None]
            for k in kinds:
                kwargs.pop(k, None)
            if len(given) > 1:
                raise click.UsageError(f"one file at a time, not {' and '.join('--' + k for k, _ in given)}")
            return fn(*args, media_file=given[0] if given else None, **kwargs)
        for kind in reversed(kinds):
            wrapper = click.option(f"--{kind}", type=click.Path(dir_okay=False), default=None,
                                   help=f"Send this file as a{'n' if kind[0] in 'aeiou' else ''} {kind}; "
                                        "TEXT is its caption.")(wrapper)
        return wrapper
    return decorate


def stored_media(home: str, media_file) -> dict | None:
    """The outbox's reference for the file given (stored in the home), or None; exit 2 when it
    cannot be sent: unreadable, empty, too big, or not the type its option says."""
    if media_file is None:
        return None
    kind, path = media_file
    try:
        return store_file(home, kind, path)
    except MediaError as e:
        raise DaemonError(str(e), code=2) from None
