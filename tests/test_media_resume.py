"""A download pending when the session's process ends is fetched again by its next process
(conversations/media_resume.py, storage/media_pending.py), once; a stored file never again.

The session's own methods run on a real store, no actor system (as tests/test_session_replies.py):
a "process" is one session object on the home, ended by closing it without recording its
worker's outcomes."""
from __future__ import annotations

import hashlib
import os
import threading
import time

from conversations import media, media_resume
from conversations.inbound import Rules, handle_inbound
from runtime.config import Chat
from storage import Store, conversations, media_pending
from test_conversations_media import PHOTO, outcomes
from test_session_replies import CUSTOMER, PHONE, FakeTransport, home, make_session  # noqa: F401 (home: fixture)
from transports import events as ev


class Network(FakeTransport):
    """A transport that can fetch a file again by its ref (as transports/sim/transport.py does)."""

    def __init__(self, blobs: dict[str, bytes]):
        super().__init__()
        self.blobs, self.fetched = blobs, []

    def media_fetch(self, ref):
        def fetch():
            self.fetched.append(ref)
            return self.blobs[ref]
        return fetch


def photo(n: int, fetch, ts: float | None = None, ref: str = "") -> ev.Inbound:
    return ev.Inbound(f"PHOTO-{n}", CUSTOMER, "[photo]", time.time() if ts is None else ts, kind="image",
                      media=ev.Media(mime="image/jpeg", size=len(PHOTO), fetch=fetch, ref=ref or f"blob-{n}"))


def start(home, transport):
    """What on_start sets up for media, then the session connects (actors/session.py _set_state)."""
    s = make_session(home)
    s.transport = transport
    s.media = media.MediaFetcher(os.path.join(home, "media"), 100_000)
    s.resume_media = media_resume.Resume(s.store, PHONE, s.media, s.transport)
    s.state = "connecting"
    return s


def end(s):
    s.media.close()
    s.close()


def rows(store):
    with store.read() as txn:
        msgs = conversations.messages(txn, CUSTOMER)
        return [(m.message_id, m.media_state, m.media) for m in msgs], list(media_pending.oldest(txn, PHONE))


def files(home):
    return sorted(os.listdir(os.path.join(home, "media")))


def test_a_download_pending_at_a_crash_is_fetched_by_the_next_process_once(home):
    held = threading.Event()

    def hang():
        held.wait(30)
        raise ConnectionError("the process is gone")   # what this worker does after its "death" is moot
    first = start(home, FakeTransport())
    first._set_state("connected", "Connected")
    first._inbound([photo(1, fetch=hang)])                            # the download hangs ...
    [(mid, state, path)], [pending] = rows(first.store)
    assert (mid, state, path, pending.ref) == ("PHOTO-1", "pending", None, "blob-1")
    end(first)                                                        # ... and the process ends
    held.set()

    network = Network({"blob-1": PHOTO})
    second = start(home, network)
    assert network.fetched == []                                      # nothing before it connects
    second._set_state("connected", "Connected")
    second._media_done(outcomes(second.media, 1))
    name = hashlib.sha256(PHOTO).hexdigest() + ".jpg"
    assert rows(second.store) == ([("PHOTO-1", "stored", os.path.join(home, "media", name))], [])
    assert network.fetched == ["blob-1"] and files(home) == [name]
    second._set_state("disconnected", "Disconnected")
    second._set_state("connected", "Connected")                       # a reconnect: not resumed again
    time.sleep(0.3)
    assert second.media.ready() == [] and network.fetched == ["blob-1"]
    end(second)

    third = start(home, network)                                      # stored: never fetched again
    third._set_state("connected", "Connected")
    time.sleep(0.3)
    assert third.media.ready() == [] and network.fetched == ["blob-1"]
    end(third)


def test_a_file_saved_but_not_recorded_before_the_crash_is_recorded_once(home):
    first = start(home, FakeTransport())
    first._set_state("connected", "Connected")
    first._inbound([photo(1, fetch=lambda: PHOTO)])
    outcomes(first.media, 1)                                          # saved, never recorded
    end(first)
    second = start(home, Network({"blob-1": PHOTO}))
    second._set_state("connected", "Connected")
    [o] = outcomes(second.media, 1)
    second._media_done([o])
    second._media_done([o])                                           # recorded twice: no change
    name = hashlib.sha256(PHOTO).hexdigest() + ".jpg"
    assert rows(second.store) == ([("PHOTO-1", "stored", os.path.join(home, "media", name))], [])
    assert files(home) == [name]
    end(second)


class Submitted:
    def __init__(self):
        self.jobs = []

    def submit(self, customer, message_id, m):
        self.jobs.append((message_id, m.ref, m.mime))


def store_photos(home, *events):
    with Store(home) as store:
        store.write(lambda txn: handle_inbound(txn, PHONE, list(events), Chat(), Rules(now=time.time())))


def test_resume_is_oldest_first_capped_and_drops_what_is_too_old_or_final(home):
    now = time.time()
    never = lambda: b""   # noqa: E731 - a live fetch: the message is stored pending
    store_photos(home, photo(1, never, ts=now - 10 * 86400), photo(2, never, ts=now - 60),
                 photo(3, never, ts=now - 30), photo(4, never, ts=now - 20), photo(5, never, ts=now - 10))
    with Store(home) as store:
        store.write(lambda txn: media.record(txn, media.Outcome(CUSTOMER, "PHOTO-3", "failed", error="500", final=False)))
        store.write(lambda txn: media.record(txn, media.Outcome(CUSTOMER, "PHOTO-4", "too_large")))
        assert [p.message_id for p in rows(store)[1]] == ["PHOTO-1", "PHOTO-2", "PHOTO-3", "PHOTO-5"]
        fetcher = Submitted()
        handed = media_resume.Resume(store, PHONE, fetcher, Network({}), limit=3)(now)
        states, pending = rows(store)
    # PHOTO-1 is 10 days old: failed and dropped; PHOTO-4 was final: never indexed again;
    # a failed first attempt (PHOTO-3) is resumed; PHOTO-5 is past the cap of 3 keys read.
    assert handed == 2 and fetcher.jobs == [("PHOTO-2", "blob-2", "image/jpeg"), ("PHOTO-3", "blob-3", "image/jpeg")]
    assert dict((m, s) for m, s, _ in states) == {"PHOTO-1": "failed", "PHOTO-2": "pending",
                                                   "PHOTO-3": "failed, retrying", "PHOTO-4": "too_large",
                                                   "PHOTO-5": "pending"}
    assert [p.message_id for p in pending] == ["PHOTO-2", "PHOTO-3", "PHOTO-5"]


def test_only_the_masters_own_files_and_only_those_a_transport_can_fetch_again(home):
    store_photos(home, photo(1, lambda: b""), photo(2, lambda: b""))
    with Store(home) as store:
        store.write(lambda txn: handle_inbound(txn, "+971553633595", [photo(3, lambda: b"")], Chat(),
                                               Rules(now=time.time())))
        fetcher = Submitted()
        assert media_resume.Resume(store, PHONE, fetcher, FakeTransport())() == 0   # no media_fetch
        assert media_resume.Resume(store, PHONE, fetcher, Network({}))() == 2
    assert [j[0] for j in fetcher.jobs] == ["PHOTO-1", "PHOTO-2"]


def test_a_transport_without_a_ref_leaves_nothing_to_resume(home):
    event = ev.Inbound("PHOTO-9", CUSTOMER, "[photo]", time.time(), kind="image",
                       media=ev.Media(mime="image/jpeg", fetch=lambda: b""))
    store_photos(home, event)
    with Store(home) as store:
        assert rows(store) == ([("PHOTO-9", "pending", None)], [])


def test_the_sim_gives_a_file_its_id_as_ref():
    from transports.sim.inbound import event_from_push
    frame = {"event": "inbound", "message_id": "M", "from": CUSTOMER, "text": "", "ts": 1.0, "kind": "image",
             "media": {"id": "abc", "mime": "image/jpeg", "size": 3}}
    assert event_from_push(frame, lambda i: b"").media.ref == "abc"
