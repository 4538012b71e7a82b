"""Media files of inbound messages: downloaded off the session's thread, stored by sha256.

A photo, voice note or document is `Media.fetch()` (transports/events.py), which
blocks for as long as the download takes. The session hands each one to a
MediaFetcher: one small worker thread that downloads, checks the size cap
(`[session] media_max_bytes`), saves the file as `<home>/media/<sha256><ext>`
(0600), and reports the outcome on a queue, with a byte on a pipe the session
watches beside its transport (actors/session.py). A failed download is
reported and tried once more after RETRY_AFTER_S; nothing here ever blocks the
session. Downloads still pending when the session's process ends are fetched
again by its next process (conversations/media_resume.py).
"""
from __future__ import annotations

import hashlib
import mimetypes
import os
import queue
import threading
from dataclasses import dataclass, replace

import structlog

from storage import conversations, media_pending
from transports.events import Media

log = structlog.get_logger("media")
RETRY_AFTER_S = 2.0
ATTEMPTS = 2     # the first try and one retry


class TooLarge(Exception):
    pass


@dataclass(frozen=True)
class Job:
    customer: str
    message_id: str
    media: Media
    attempt: int = 1


@dataclass(frozen=True)
class Outcome:
    customer: str
    message_id: str
    state: str            # stored | failed | too_large
    path: str | None = None
    error: str = ""
    final: bool = True    # False: a failed first attempt, retried


def save(directory: str, data: bytes, mime: str = "") -> str:
    """Write `data` as <sha256><ext> in `directory` (0600); the same bytes twice are one file."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    ext = mimetypes.guess_extension(mime.split(";")[0].strip()) if mime else None
    path = os.path.join(directory, hashlib.sha256(data).hexdigest() + (ext or ""))
    if os.path.exists(path):
        return path
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.part"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)   # readers never see half a file
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def download(job: Job, directory: str, max_bytes: int) -> Outcome:
    """One attempt: fetch, check the cap, save. Never raises."""
    media = job.media
    if media.size > max_bytes:   # declared too big: do not even fetch it
        return Outcome(job.customer, job.message_id, "too_large",
                       error=f"{media.size} bytes declared, the cap is {max_bytes}")
    try:
        data = media.fetch()
        if len(data) > max_bytes:
            raise TooLarge(f"{len(data)} bytes, the cap is {max_bytes}")
        return Outcome(job.customer, job.message_id, "stored", save(directory, data, media.mime))
    except TooLarge as e:
        return Outcome(job.customer, job.message_id, "too_large", error=str(e))
    except Exception as e:   # the transport's TransportError, a full disk, ...: record it, retry once
        final = job.attempt >= ATTEMPTS
        return Outcome(job.customer, job.message_id, "failed", error=f"{type(e).__name__}: {e}", final=final)


class MediaFetcher:
    """The worker thread and the pipe that wakes the session when an outcome is ready."""

    def __init__(self, directory: str, max_bytes: int):
        self.directory, self.max_bytes = directory, max_bytes
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.outcomes: queue.Queue[Outcome] = queue.Queue()
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        self._thread = threading.Thread(target=self._run, name="media-fetch", daemon=True)
        self._thread.start()

    def fileno(self) -> int:
        return self._r

    def submit(self, customer: str, message_id: str, media: Media) -> None:
        self.jobs.put(Job(customer, message_id, media))

    def ready(self) -> list[Outcome]:
        """The outcomes reported so far (non-blocking); empties the wake-up pipe."""
        try:
            while os.read(self._r, 4096):
                pass
        except BlockingIOError:
            pass
        out = []
        while True:
            try:
                out.append(self.outcomes.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        self.jobs.put(None)
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:
                pass

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            outcome = download(job, self.directory, self.max_bytes)
            if outcome.state == "failed" and not outcome.final:
                retry = threading.Timer(RETRY_AFTER_S, self.jobs.put, [replace(job, attempt=job.attempt + 1)])
                retry.daemon = True
                retry.start()
            self.outcomes.put(outcome)
            try:
                os.write(self._w, b"!")
            except OSError:   # closed: the session is stopping
                return


def record(txn, outcome: Outcome) -> bool:
    """Note a download's outcome on its message; False when the message is not found
    (its LID conversation was merged meanwhile: the file stays, unreferenced)."""
    def change(msg):
        msg.media_state = outcome.state if outcome.final or outcome.state != "failed" else "failed, retrying"
        if outcome.path:
            msg.media = outcome.path
    msg = conversations.update_message(txn, outcome.customer, outcome.message_id, change)
    if msg is not None and msg.media_state != "failed, retrying":   # final: no later process resumes it
        media_pending.remove(txn, msg.master, msg.ts, msg.message_id)
    return msg is not None
