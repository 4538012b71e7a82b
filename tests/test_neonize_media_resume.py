"""neonize: a photo's Media.ref lets a later transport (a restarted session's) download it again
(transports/neonize/transport.py media_fetch; conversations/media_resume.py uses it).

With FakeGo at the ctypes boundary, as tests/test_neonize_inbound.py."""
from __future__ import annotations

import hashlib

import pytest

from neonize_support import collect_where_runnable, run_in_child
from test_neonize_inbound import E, PHOTO, connected, go, message  # noqa: F401 - fixtures
from test_neonize_transport import N, make, wait_events  # noqa: F401 - fixtures
from transports.base import TransportError


def test_neonize_cases_in_a_child_process():
    run_in_child(__file__)


def test_a_photo_is_downloaded_again_by_a_new_transport_from_its_ref(N, E, go, make):
    sha = hashlib.sha256(PHOTO).digest()
    go.media[sha] = PHOTO
    first, conn = connected(go, make)
    body = E.Message(imageMessage=E.ImageMessage(mimetype="image/jpeg", fileSHA256=sha, fileLength=len(PHOTO),
                                                 directPath="/v/t62/x", mediaKey=b"\x07" * 32))
    assert conn.deliver(message(N, body))
    [got] = wait_events(first)
    ref = got.media.ref
    first.close()                                     # the process that received it is gone
    again = make()
    with pytest.raises(TransportError, match="not connected"):
        again.media_fetch(ref)()                      # only through a connection
    again.connect()
    go.wait_connection(2)
    assert again.media_fetch(ref)() == PHOTO
    [*_, (_, asked)] = [c for c in go.calls if c[0] == "DownloadAny"]
    assert (asked.imageMessage.directPath, asked.imageMessage.mediaKey) == ("/v/t62/x", b"\x07" * 32)


collect_where_runnable(globals())
