"""Media files (issue 14): downloaded off the session's thread by conversations/media.py's
worker, saved 0600 under <home>/media/ by sha256, capped, a failure retried once, the
outcome recorded on its message."""
from __future__ import annotations

import hashlib
import os
import select
import stat
import time

import pytest

from conversations import media
from conversations.inbound import Rules, handle_inbound
from runtime.config import Chat
from storage import Store, conversations
from transports import events as ev
from transports.base import TransportError

CUSTOMER, MASTER = "+447700900001", "+971505760056"
PHOTO = b"\xff\xd8\xff" + os.urandom(5000)


def outcomes(fetcher, n, timeout=10.0):
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"only {got}"
        select.select([fetcher.fileno()], [], [], left)   # as the session's ThespianWatch does
        got += fetcher.ready()
    return got


@pytest.fixture
def fetcher(tmp_path):
    f = media.MediaFetcher(str(tmp_path / "media"), max_bytes=10_000)
    yield f
    f.close()


def test_a_photo_is_saved_0600_named_by_its_sha256(fetcher, tmp_path):
    fetcher.submit(CUSTOMER, "M1", ev.Media(mime="image/jpeg", fetch=lambda: PHOTO))
    [o] = outcomes(fetcher, 1)
    assert o.state == "stored" and os.path.basename(o.path) == hashlib.sha256(PHOTO).hexdigest() + ".jpg"
    assert open(o.path, "rb").read() == PHOTO
    assert stat.S_IMODE(os.stat(o.path).st_mode) == 0o600


def test_too_large_is_not_kept_declared_or_found(fetcher, tmp_path):
    fetched = []
    fetcher.submit(CUSTOMER, "D1", ev.Media(size=50_000, fetch=lambda: fetched.append(1) or b""))
    fetcher.submit(CUSTOMER, "D2", ev.Media(fetch=lambda: b"x" * 10_001))
    got = {o.message_id: o for o in outcomes(fetcher, 2)}
    assert got["D1"].state == got["D2"].state == "too_large" and fetched == []
    assert not (tmp_path / "media").exists() or os.listdir(tmp_path / "media") == []


def test_a_failed_download_is_reported_then_retried_once(fetcher):
    calls = []

    def flaky():
        calls.append(time.monotonic())
        raise TransportError("media server said 500")
    fetcher.submit(CUSTOMER, "F1", ev.Media(fetch=flaky))
    first, second = outcomes(fetcher, 2)
    assert (first.state, first.final, second.state, second.final) == ("failed", False, "failed", True)
    assert "500" in second.error and len(calls) == 2
    time.sleep(media.RETRY_AFTER_S + 0.5)
    assert fetcher.ready() == [] and len(calls) == 2               # once, not forever


def test_a_slow_download_never_blocks_the_caller(fetcher):
    fetcher.submit(CUSTOMER, "S1", ev.Media(fetch=lambda: time.sleep(1.0) or b"late"))
    started = time.monotonic()
    assert fetcher.ready() == [] and time.monotonic() - started < 0.2
    [o] = outcomes(fetcher, 1)
    assert o.state == "stored"


def test_the_outcome_is_recorded_on_its_message(tmp_path, fetcher):
    with Store(str(tmp_path)) as store:
        photo = ev.Inbound("P1", CUSTOMER, "the view", 1000.0, kind="image",
                           media=ev.Media(mime="image/jpeg", fetch=lambda: PHOTO))
        [h] = store.write(lambda txn: handle_inbound(txn, MASTER, [photo], Chat(), Rules(now=1001.0)))
        fetcher.submit(h.customer, "P1", h.event.media)
        [o] = outcomes(fetcher, 1)
        assert store.write(lambda txn: media.record(txn, o))
        with store.read() as txn:
            [m] = conversations.messages(txn, CUSTOMER)
        assert (m.kind, m.text, m.media_state, m.media) == ("image", "the view", "stored", o.path)
