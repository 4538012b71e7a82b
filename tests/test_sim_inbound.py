"""The simulated network carries what real WhatsApp delivers (issue 14): media with their
bytes, locations, contact cards, messages written hours ago, the offline backlog of a
master that was away, a person typing on the master's phone, and customers seen only by
their LID. Driven through SimTransport and the control client, as the session and the
CLI use them; the CLI itself at the end."""
from __future__ import annotations

import hashlib
import os
import time

import pytest
from click.testing import CliRunner

from test_sim_server import HOST, linked, make_transport, quiet, sim, wait_for  # noqa: F401
from transports import events as ev
from transports.base import TransportError
from transports.sim import compose, control
from transports.sim.messaging import MAX_MEDIA_BYTES

MASTER, CUSTOMER, OTHER = "+971505760056", "+971501234567", "+971509998877"
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(300_000)   # NULs and all


def inbound(transport, n=1, timeout=3.0) -> list[ev.Inbound]:
    seen: list = []
    deadline = time.monotonic() + timeout
    while sum(isinstance(e, ev.Inbound) for e in seen) < n:
        assert time.monotonic() < deadline, f"only {seen}"
        wait_for(transport, ev.Inbound, timeout=deadline - time.monotonic(), seen=seen)
    return [e for e in seen if isinstance(e, ev.Inbound)]


def send(sim, text="", **message):
    return control.send(HOST, sim.port, CUSTOMER, MASTER, text, **message)


def send_composed(sim, composed: tuple[str, dict]) -> str:
    text, fields = composed
    return send(sim, text, **fields)


# --- media, locations, contact cards ----------------------------------------------------------

def test_a_photo_arrives_with_its_caption_and_its_bytes_byte_for_byte(make_transport, sim,
                                                                       tmp_path):
    t = linked(make_transport)
    path = tmp_path / "unit.jpg"
    path.write_bytes(PHOTO)
    caption, fields = compose.message_fields("the view from 2304", image=str(path))
    message_id = send(sim, caption, **fields)
    [got] = inbound(t)
    assert (got.message_id, got.sender, got.kind, got.text) == (
        message_id, CUSTOMER, "image", "the view from 2304")
    assert got.media == ev.Media(mime="image/jpeg", size=len(PHOTO), file_name="unit.jpg",
                                 sha256=hashlib.sha256(PHOTO).hexdigest())
    assert got.media.fetch() == PHOTO


def test_a_voice_note_reads_as_its_length_and_its_bytes_come_back(make_transport, sim):
    t = linked(make_transport)
    text, fields = compose.message_fields("", voice=14)
    send(sim, text, **fields)
    [got] = inbound(t)
    assert (got.kind, got.text, got.media.seconds) == ("voice", "[voice note 14 s]", 14)
    assert got.media.mime.startswith("audio/ogg") and got.media.fetch() == fields["data"]


@pytest.mark.parametrize("option,name,kind,want", [
    ("video", "tour.mp4", "video", "[video]"),
    ("document", "brochure.pdf", "document", "[document brochure.pdf]"),
    ("sticker", "hi.webp", "sticker", "[sticker]"),
])
def test_videos_documents_and_stickers(make_transport, sim, tmp_path, option, name, kind, want):
    t = linked(make_transport)
    (tmp_path / name).write_bytes(b"\x00file:" + name.encode())
    text, fields = compose.message_fields("", **{option: str(tmp_path / name)})
    send(sim, text, **fields)
    [got] = inbound(t)
    assert (got.kind, got.text, got.media.file_name) == (kind, want, name)
    assert got.media.fetch() == b"\x00file:" + name.encode()


def test_a_location_and_a_contact_card(make_transport, sim):
    t = linked(make_transport)
    send_composed(sim, compose.message_fields("Marina Walk", location="25.2,55.3"))
    send_composed(sim, compose.message_fields("Ahmed", contact=OTHER))
    place, card = inbound(t, 2)
    assert (place.kind, place.text, place.location) == (
        "location", "[location 25.2,55.3 Marina Walk]", ev.Location(25.2, 55.3, "Marina Walk"))
    assert (card.kind, card.text, card.contact.phone) == ("contact", f"[contact Ahmed {OTHER}]",
                                                          OTHER)
    assert f"waid={OTHER[1:]}" in card.contact.vcard


def test_a_file_the_sim_does_not_have_is_a_failed_download(make_transport, sim):
    t = linked(make_transport)
    send_composed(sim, compose.message_fields("", voice=2))
    [got] = inbound(t)
    broken = ev.Media(fetch=lambda: __import__("transports.sim.inbound", fromlist=["x"])
                      .fetch_media(HOST, sim.port, "0" * 64))
    with pytest.raises(TransportError, match="media download failed: no media"):
        broken.fetch()
    assert got.media.fetch()   # the real one is there


def test_bad_messages_are_refused_and_nothing_is_held(sim):
    cases = [({"kind": "image"}, "needs its file"), ({"kind": "gif", "data": b"x"}, "kind: one of"),
             ({"kind": "image", "data": b"x" * (MAX_MEDIA_BYTES + 1)}, "up to"),
             ({"kind": "location", "lat": 91, "lon": 0}, "lat: expected a number from -90"),
             ({"kind": "contact", "contact": "12"}, "contact: expected an E.164"),
             ({"ago": -5}, "ago: expected a number")]
    for fields, error in cases:
        with pytest.raises(control.SimBadRequest, match=error):
            send(sim, "x", **fields)
    assert control.status(HOST, sim.port)["counts"]["inbound"] == 0


# --- time and the offline backlog -------------------------------------------------------------

def test_ago_carries_the_original_time(make_transport, sim):
    t = linked(make_transport)
    send(sim, "written two hours ago", ago=compose.parse_duration("2h"))
    [got] = inbound(t)
    assert time.time() - 7200 - 5 < got.timestamp < time.time() - 7200 + 1
    assert not got.offline                       # delivered at once: the master was connected


def test_a_disconnected_master_gets_its_backlog_inside_an_offline_sync(make_transport, sim):
    t = linked(make_transport)
    t.disconnect()
    ids = [send(sim, "at night", ago=3600 * 8),
           send_composed(sim, compose.message_fields("", voice=5)),
           control.send(HOST, sim.port, OTHER, MASTER, "!handover", ago=3600)]
    t.connect()
    events = wait_for(t, ev.OfflineSyncCompleted)
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["Connected", "OfflineSyncStarted", "Inbound", "Inbound", "Inbound",
                     "OfflineSyncCompleted"]
    assert events[1] == ev.OfflineSyncStarted(messages=3, total=3)
    assert events[-1] == ev.OfflineSyncCompleted(count=3)
    held = events[2:5]
    assert [e.message_id for e in held] == ids and all(e.offline for e in held)
    assert held[0].timestamp < time.time() - 8 * 3600 + 5       # original times kept
    for e in held:
        t.ack(e.message_id)
    send(sim, "back now")
    [fresh] = inbound(t)
    assert not fresh.offline


def test_no_offline_sync_when_nothing_was_held(make_transport, sim):
    t = linked(make_transport)
    t.disconnect()
    t.connect()
    wait_for(t, ev.Connected)
    assert quiet(t) == []


# --- edits, deletes, reactions ----------------------------------------------------------------

def test_edit_revoke_and_react_name_the_message_they_change(make_transport, sim, tmp_path):
    t = linked(make_transport)
    first = send(sim, "3 bedrooms please")
    ids = [control.change(HOST, sim.port, CUSTOMER, MASTER, "edit", first, "2 bedrooms please"),
           control.change(HOST, sim.port, CUSTOMER, MASTER, "react", first, "👍")]
    live = wait_for(t, ev.Reaction)
    assert [type(e).__name__ for e in live if not isinstance(e, ev.Inbound)] == ["Edited",
                                                                                "Reaction"]
    t.disconnect()
    r = cli(sim, str(tmp_path / "home"), "revoke", "--from", CUSTOMER, "--to", MASTER, first)
    assert r.exit_code == 0, r.output
    t.connect()
    events = wait_for(t, ev.OfflineSyncCompleted)
    events = [e for e in events if not isinstance(e, (ev.Connected, ev.OfflineSyncStarted,
                                                      ev.OfflineSyncCompleted, ev.Inbound))]
    assert [(type(e).__name__, e.target_id) for e in events] == [
        ("Edited", first), ("Reaction", first), ("Revoked", first)]   # unacked ones come again
    edited, reaction, revoked = events
    assert (edited.message_id, edited.text, edited.sender) == (ids[0], "2 bedrooms please", CUSTOMER)
    assert (reaction.emoji, revoked.offline, revoked.message_id) == ("👍", True, r.output.strip())


def test_a_change_needs_its_kind_target_and_for_an_edit_text(sim):
    for change, target, text, error in (("delete", "X", "", "change: one of"),
                                        ("edit", "", "new", "target"),
                                        ("edit", "X", " ", "needs the new text")):
        with pytest.raises(control.SimBadRequest, match=error):
            control.change(HOST, sim.port, CUSTOMER, MASTER, change, target, text)


# --- a person on the master's phone -----------------------------------------------------------

def test_a_phone_reply_reaches_the_customer_and_the_master_as_from_me(make_transport, sim):
    t = linked(make_transport)
    message_id = control.phone_reply(HOST, sim.port, MASTER, CUSTOMER, "Sara here, calling you")
    [got] = inbound(t)
    assert got == ev.Inbound(message_id, CUSTOMER, "Sara here, calling you", got.timestamp,
                             from_me=True)
    assert [m["text"] for m in control.inbox(HOST, sim.port, CUSTOMER)] == [
        "Sara here, calling you"]


def test_a_phone_reply_while_disconnected_comes_in_the_backlog(make_transport, sim):
    t = linked(make_transport)
    t.disconnect()
    control.phone_reply(HOST, sim.port, MASTER, CUSTOMER, "answered from the phone")
    t.connect()
    [got] = inbound(t)
    assert got.from_me and got.offline


def test_a_phone_reply_needs_a_known_master_and_text(sim):
    with pytest.raises(control.SimBadRequest, match="unknown account"):
        control.phone_reply(HOST, sim.port, MASTER, CUSTOMER, "hi")
    control.send(HOST, sim.port, CUSTOMER, MASTER, "creates the account")
    with pytest.raises(control.SimBadRequest, match="needs some text"):
        control.phone_reply(HOST, sim.port, MASTER, CUSTOMER, "  ")


# --- LID senders ------------------------------------------------------------------------------

def test_a_lid_sender_has_no_phone_until_revealed(make_transport, sim):
    t = linked(make_transport)
    send(sim, "hidden number", lid=True)
    [hidden] = inbound(t)
    assert hidden.sender == "" and hidden.sender_lid.endswith("@lid")
    assert hidden.customer == hidden.sender_lid
    assert t.phone_for_lid(hidden.sender_lid) == ""

    assert control.ControlClient(HOST, sim.port).lid_reveal(CUSTOMER) == hidden.sender_lid
    revealed = wait_for(t, ev.LidResolved)
    assert revealed[-1] == ev.LidResolved(lid=hidden.sender_lid, phone=CUSTOMER)
    assert t.phone_for_lid(hidden.sender_lid) == CUSTOMER
    send(sim, "same person", lid=True)
    [known] = inbound(t)
    assert (known.sender, known.sender_lid) == (CUSTOMER, hidden.sender_lid)


# --- the CLI ----------------------------------------------------------------------------------

def cli(sim, home, *args):
    from cli import main
    return CliRunner().invoke(main, ["sim", *args, "--home", home, "--sim-port", str(sim.port)],
                              catch_exceptions=False)


def test_cli_send_with_media_ago_and_lid_then_phone_reply_and_lid_reveal(
        make_transport, sim, tmp_path):
    home = str(tmp_path / "home")
    t = linked(make_transport)
    t.disconnect()
    (tmp_path / "unit.jpg").write_bytes(PHOTO)
    base = ["send", "--from", CUSTOMER, "--to", MASTER]
    runs = [cli(sim, home, *base, "--image", str(tmp_path / "unit.jpg"), "the view", "--ago", "2h"),
            cli(sim, home, *base, "--voice", "14", "--ago", "90m"),
            cli(sim, home, *base, "--location", "25.2,55.3", "Marina Walk", "--lid"),
            cli(sim, home, *base, "--contact", "+971 50 999 8877", "Ahmed"),
            cli(sim, home, *base, "--document", str(tmp_path / "unit.jpg")),
            cli(sim, home, "phone-reply", "--from", MASTER, "--to", CUSTOMER, "Sara here")]
    assert [r.exit_code for r in runs] == [0] * 6, [r.output for r in runs]
    ids = [r.output.strip() for r in runs]
    t.connect()
    events = wait_for(t, ev.OfflineSyncCompleted)
    got = [e for e in events if isinstance(e, ev.Inbound)]
    assert [e.message_id for e in got] == ids and all(e.offline for e in got)
    photo, voice, place, card, doc, reply = got
    assert (photo.kind, photo.text, photo.media.fetch()) == ("image", "the view", PHOTO)
    assert abs(time.time() - 7200 - photo.timestamp) < 10
    assert voice.text == "[voice note 14 s]" and abs(time.time() - 5400 - voice.timestamp) < 10
    assert (place.text, place.sender, place.sender_lid != "") == (
        "[location 25.2,55.3 Marina Walk]", "", True)
    assert card.contact.phone == OTHER
    assert (doc.kind, doc.text) == ("document", "[document unit.jpg]")
    assert (reply.from_me, reply.text) == (True, "Sara here")
    r = cli(sim, home, "lid-reveal", CUSTOMER)
    assert r.exit_code == 0 and r.output.strip() == f"{place.sender_lid} is {CUSTOMER}"


@pytest.mark.parametrize("args,error", [
    (["--voice", "3", "--image", "x.jpg"], "one attachment at a time"),
    (["--voice", "3", "caption"], "no caption"),
    (["--location", "north"], "not a location"),
    (["--ago", "yesterday", "hi"], "not a duration"),
    (["--image", "/nonexistent.jpg"], "cannot read"),
    ([], "TEXT is required"),
])
def test_cli_send_refuses_bad_options_without_sending(sim, tmp_path, args, error):
    r = cli(sim, str(tmp_path / "home"), "send", "--from", CUSTOMER, "--to", MASTER, *args)
    assert r.exit_code == 2 and error in r.output
    assert control.status(HOST, sim.port)["counts"]["inbound"] == 0


def test_durations():
    assert [compose.parse_duration(d) for d in ("90s", "15m", "2h", "1d", "30", "1.5h")] == \
        [90, 900, 7200, 86400, 30, 5400]
    for bad in ("", "2w", "-1h", "h"):
        with pytest.raises(ValueError):
            compose.parse_duration(bad)
