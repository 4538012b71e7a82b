"""Inbound messages from neonize's real protobufs: media, locations, contact cards, edits,
deletes, reactions, a person typing on the master's phone, LID senders, the offline sync
window and undecryptable messages (issue 14).

Each message is built from neonize's own protobufs and goes the way goneonize delivers it:
straight into `to_domain` after a wire round trip, and through the real NewClient dispatch
with FakeGo at the ctypes boundary (tests/neonize_support.py), where the media download
(DownloadAny) and the LID store (GetPNFromLID) are answered by the fake Go side too.

Runs in a child pytest, like every test that imports neonize.
"""
from __future__ import annotations

import hashlib
import time

import pytest

from neonize_support import IN_CHILD, PHONE, FakeGo, collect_where_runnable, run_in_child
from test_neonize_transport import N, make, wait_events  # noqa: F401 - fixtures
from transports import events as ev
from transports.base import TransportError
from transports.neonize.mapping import to_domain

CUSTOMER = "971559876543"
LID = "123456789012345"
STAMP = 1_700_000_000_250            # goneonize: milliseconds
PHOTO = b"\xff\xd8\xff\xe0JFIF\x00" + bytes(range(256)) * 4   # NUL bytes included


def test_neonize_cases_in_a_child_process():
    run_in_child(__file__)


@pytest.fixture
def E():
    if not IN_CHILD:
        pytest.skip("needs neonize: runs in test_neonize_cases_in_a_child_process")
    from neonize.proto.waE2E import WAWebProtobufsE2E_pb2
    return WAWebProtobufsE2E_pb2


class InboundGo(FakeGo):
    """FakeGo that also serves media downloads and the LID → phone store."""

    def __init__(self, N):
        super().__init__(N)
        self.media: dict[bytes, bytes] = {}     # fileSHA256 → bytes
        self.lids: dict[str, str] = {}          # LID user → phone user
        self.download_error = ""

    def DownloadAny(self, uuid, msg_bytes, msg_len):
        from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message
        msg = Message.FromString(msg_bytes[:msg_len])
        self.calls.append(("DownloadAny", msg))
        kinds = [f for f, _ in msg.ListFields()]
        sha = getattr(msg, kinds[0].name).fileSHA256 if kinds else b""
        if self.download_error or sha not in self.media:
            return self.N.DownloadReturnFunction(
                Error=self.download_error or "download failed with status code 404"
            ).SerializeToString()
        return self.N.DownloadReturnFunction(Binary=self.media[sha]).SerializeToString()

    def GetPNFromLID(self, uuid, jid_bytes, jid_len):
        lid = self.N.JID.FromString(jid_bytes[:jid_len])
        self.calls.append(("GetPNFromLID", lid.User, lid.Server))
        phone = self.lids.get(lid.User)
        # not found: whatsmeow answers an empty JID (every field set, to its zero value)
        found = jid(self.N, phone) if phone else jid(self.N, "", "")
        return self.N.GetJIDFromStoreReturnFunction(Jid=found).SerializeToString()


@pytest.fixture
def go(N, monkeypatch):
    from transports.neonize import binding
    gocode = binding.load().gocode
    fake = InboundGo(N)
    for name in ("Neonize", "Stop", "SendMessage", "PairPhone", "Logout", "IsConnected",
                 "IsLoggedIn", "GetAllDevices", "DownloadAny", "GetPNFromLID"):
        monkeypatch.setattr(gocode, name, getattr(fake, name))
    yield fake
    fake.release.set()


def wire(event):
    return type(event).FromString(event.SerializePartialToString())


def jid(N, user, server="s.whatsapp.net", device=0):
    return N.JID(User=user, Server=server, Device=device, RawAgent=0, Integrator=0, IsEmpty=False)


def message(N, body, *, sender=None, chat=None, alt=None, recipient_alt=None, from_me=False,
            msg_id="3EB0C0FFEE", edit=False, info_edit="", mode=None):
    sender = sender or jid(N, CUSTOMER, device=3)
    source = N.MessageSource(Chat=chat or jid(N, sender.User, sender.Server), Sender=sender,
                             IsFromMe=from_me, IsGroup=False)
    if alt is not None:
        source.SenderAlt.CopyFrom(alt)
    if recipient_alt is not None:
        source.RecipientAlt.CopyFrom(recipient_alt)
    if mode is not None:
        source.AddressingMode = mode
    info = N.MessageInfo(MessageSource=source, ID=msg_id, Timestamp=STAMP, Type="media",
                         Edit=info_edit)
    return wire(N.Message(Info=info, Message=body, IsEdit=edit))


def expect(**fields):
    base = dict(message_id="3EB0C0FFEE", sender="+" + CUSTOMER, timestamp=1_700_000_000.25)
    return ev.Inbound(**{**base, **fields})


# --- each kind of message, straight through to_domain --------------------------------------

def test_a_photo_is_an_image_with_its_caption(N, E):
    body = E.Message(imageMessage=E.ImageMessage(mimetype="image/jpeg", caption="the view",
                                                 fileLength=len(PHOTO),
                                                 fileSHA256=hashlib.sha256(PHOTO).digest()))
    got = to_domain(message(N, body))
    assert got == expect(text="the view", kind="image", media=ev.Media(
        mime="image/jpeg", size=len(PHOTO), sha256=hashlib.sha256(PHOTO).hexdigest()))
    assert got.media.fetch is None          # no transport: nothing to download through


def test_a_photo_without_caption_reads_as_a_placeholder(N, E):
    got = to_domain(message(N, E.Message(imageMessage=E.ImageMessage(mimetype="image/jpeg"))))
    assert (got.kind, got.text) == ("image", "[photo]")


def test_a_video_carries_its_length(N, E):
    body = E.Message(videoMessage=E.VideoMessage(mimetype="video/mp4", seconds=42, fileLength=9000))
    got = to_domain(message(N, body))
    assert got == expect(text="[video 42 s]", kind="video",
                         media=ev.Media(mime="video/mp4", size=9000, seconds=42))


def test_a_voice_note_is_voice_with_its_seconds(N, E):
    body = E.Message(audioMessage=E.AudioMessage(mimetype="audio/ogg; codecs=opus", seconds=14,
                                                 PTT=True, fileLength=22000))
    got = to_domain(message(N, body))
    assert got == expect(text="[voice note 14 s]", kind="voice",
                         media=ev.Media(mime="audio/ogg; codecs=opus", size=22000, seconds=14))


def test_an_audio_file_is_voice_but_says_audio(N, E):
    body = E.Message(audioMessage=E.AudioMessage(mimetype="audio/mpeg", seconds=180, PTT=False))
    assert to_domain(message(N, body)).text == "[audio 180 s]"


def test_a_document_carries_its_file_name(N, E):
    body = E.Message(documentMessage=E.DocumentMessage(mimetype="application/pdf",
                                                       fileName="brochure.pdf", fileLength=123456))
    got = to_domain(message(N, body))
    assert got == expect(text="[document brochure.pdf]", kind="document", media=ev.Media(
        mime="application/pdf", size=123456, file_name="brochure.pdf"))


def test_a_document_with_caption_is_unwrapped(N, E):
    doc = E.DocumentMessage(mimetype="application/pdf", fileName="passport.pdf",
                            caption="my passport")
    body = E.Message(documentWithCaptionMessage=E.FutureProofMessage(
        message=E.Message(documentMessage=doc)))
    got = to_domain(message(N, body))
    assert (got.kind, got.text, got.media.file_name) == ("document", "my passport", "passport.pdf")


def test_a_location_gives_coordinates_and_name(N, E):
    body = E.Message(locationMessage=E.LocationMessage(degreesLatitude=25.2, degreesLongitude=55.3,
                                                       name="Marina Walk", address="Dubai Marina"))
    got = to_domain(message(N, body))
    assert got == expect(text="[location 25.2,55.3 Marina Walk]", kind="location",
                         location=ev.Location(25.2, 55.3, "Marina Walk", "Dubai Marina"))


def test_a_contact_card_gives_the_phone_in_its_vcard(N, E):
    vcard = ("BEGIN:VCARD\nVERSION:3.0\nFN:Ahmed Broker\n"
             "TEL;type=CELL;type=VOICE;waid=971501112233:+971 50 111 2233\nEND:VCARD")
    body = E.Message(contactMessage=E.ContactMessage(displayName="Ahmed", vcard=vcard))
    got = to_domain(message(N, body))
    assert got == expect(text="[contact Ahmed +971501112233]", kind="contact",
                         contact=ev.ContactCard("Ahmed", "+971501112233", vcard))


def test_a_sticker(N, E):
    body = E.Message(stickerMessage=E.StickerMessage(mimetype="image/webp", fileLength=5000))
    got = to_domain(message(N, body))
    assert got == expect(text="[sticker]", kind="sticker",
                         media=ev.Media(mime="image/webp", size=5000))


def test_extended_text_is_plain_text(N, E):
    got = to_domain(message(N, E.Message(extendedTextMessage=E.ExtendedTextMessage(
        text="see https://example.com"))))
    assert got == expect(text="see https://example.com")


def test_a_poll_is_still_ignored(N, E):
    body = E.Message(pollCreationMessage=E.PollCreationMessage(name="Which unit?"))
    assert to_domain(message(N, body)) is None


# --- a person on the master's phone ---------------------------------------------------------

def test_is_from_me_is_a_reply_typed_on_the_phone_to_the_chat(N, E):
    own = jid(N, PHONE[1:], device=0)
    body = E.Message(conversation="I will call you in 5 minutes")
    got = to_domain(message(N, body, sender=own, chat=jid(N, CUSTOMER), from_me=True))
    assert got == expect(text="I will call you in 5 minutes", from_me=True)


def test_is_from_me_in_a_lid_chat_reads_the_phone_from_recipient_alt(N, E):
    own = jid(N, PHONE[1:])
    got = to_domain(message(N, E.Message(conversation="ok"), sender=own, chat=jid(N, LID, "lid"),
                            recipient_alt=jid(N, CUSTOMER), from_me=True))
    assert (got.sender, got.sender_lid, got.from_me) == ("+" + CUSTOMER, f"{LID}@lid", True)


# --- LID senders ------------------------------------------------------------------------------

def test_a_lid_sender_with_its_phone_in_sender_alt(N, E):
    lid = jid(N, LID, "lid", device=2)
    got = to_domain(message(N, E.Message(conversation="hi"), sender=lid, chat=jid(N, LID, "lid"),
                            alt=jid(N, CUSTOMER), mode=N.LID))
    assert got == expect(text="hi", sender_lid=f"{LID}@lid")


def test_a_lid_sender_without_a_phone_is_kept_by_its_lid(N, E):
    lid = jid(N, LID, "lid")
    got = to_domain(message(N, E.Message(conversation="hi"), sender=lid, mode=N.LID))
    assert got == expect(text="hi", sender="", sender_lid=f"{LID}@lid")
    assert got.customer == f"{LID}@lid"


def test_a_lid_sender_is_resolved_through_the_lookup(N, E):
    lid = jid(N, LID, "lid")
    got = to_domain(message(N, E.Message(conversation="hi"), sender=lid),
                    resolve_lid={f"{LID}@lid": "+" + CUSTOMER}.get)
    assert (got.sender, got.sender_lid) == ("+" + CUSTOMER, f"{LID}@lid")


# --- edits, deletes, reactions ----------------------------------------------------------------

def key(E, target="3EB0ORIGINAL"):
    from neonize.proto.waCommon.WACommon_pb2 import MessageKey
    return MessageKey(remoteJID=f"{CUSTOMER}@s.whatsapp.net", fromMe=False, ID=target)


def test_an_edit_names_its_target_and_new_text(N, E):
    proto = E.ProtocolMessage(key=key(E), type=E.ProtocolMessage.MESSAGE_EDIT,
                              editedMessage=E.Message(conversation="2 bedrooms, not 3"))
    got = to_domain(message(N, E.Message(protocolMessage=proto), edit=True, info_edit="1"))
    assert got == ev.Edited(message_id="3EB0C0FFEE", target_id="3EB0ORIGINAL",
                            sender="+" + CUSTOMER, text="2 bedrooms, not 3",
                            timestamp=1_700_000_000.25)


def test_an_edit_still_in_its_wrapper_maps_the_same(N, E):
    proto = E.ProtocolMessage(key=key(E), type=E.ProtocolMessage.MESSAGE_EDIT,
                              editedMessage=E.Message(conversation="new"))
    body = E.Message(editedMessage=E.FutureProofMessage(message=E.Message(protocolMessage=proto)))
    got = to_domain(message(N, body))
    assert isinstance(got, ev.Edited) and (got.target_id, got.text) == ("3EB0ORIGINAL", "new")


def test_a_revoke_names_its_target(N, E):
    proto = E.ProtocolMessage(key=key(E), type=E.ProtocolMessage.REVOKE)
    got = to_domain(message(N, E.Message(protocolMessage=proto), info_edit="7"))
    assert got == ev.Revoked(message_id="3EB0C0FFEE", target_id="3EB0ORIGINAL",
                             sender="+" + CUSTOMER, timestamp=1_700_000_000.25)


def test_other_protocol_messages_are_not_chat_events(N, E):
    proto = E.ProtocolMessage(type=E.ProtocolMessage.EPHEMERAL_SETTING, ephemeralExpiration=86400,
                              key=key(E))
    assert to_domain(message(N, E.Message(protocolMessage=proto))) is None


def test_a_reaction_names_its_target_and_emoji(N, E):
    body = E.Message(reactionMessage=E.ReactionMessage(key=key(E), text="👍"))
    got = to_domain(message(N, body))
    assert got == ev.Reaction(message_id="3EB0C0FFEE", target_id="3EB0ORIGINAL",
                              sender="+" + CUSTOMER, emoji="👍", timestamp=1_700_000_000.25)
    taken_back = E.Message(reactionMessage=E.ReactionMessage(key=key(E), text=""))
    removed = to_domain(message(N, taken_back))
    assert removed.emoji == ""


# --- offline sync, undecryptable --------------------------------------------------------------

def test_offline_sync_events(N):
    assert to_domain(wire(N.OfflineSyncPreview(Total=40, Message=31, Receipts=9))) == \
        ev.OfflineSyncStarted(messages=31, total=40)
    assert to_domain(wire(N.OfflineSyncCompleted(Count=40))) == ev.OfflineSyncCompleted(count=40)


def test_undecryptable_names_the_sender(N):
    source = N.MessageSource(Chat=jid(N, CUSTOMER), Sender=jid(N, CUSTOMER, device=1))
    info = N.MessageInfo(MessageSource=source, ID="3EB0BAD", Timestamp=STAMP)
    got = to_domain(wire(N.UndecryptableMessage(Info=info, IsUnavailable=False)))
    assert got == ev.Undecryptable(message_id="3EB0BAD", sender="+" + CUSTOMER,
                                   timestamp=1_700_000_000.25)


# --- through neonize's dispatch and the transport ---------------------------------------------

def connected(go, make):
    t = make()
    t.connect()
    return t, go.wait_connection(1)


def test_a_photo_through_dispatch_downloads_byte_for_byte_when_asked(N, E, go, make):
    sha = hashlib.sha256(PHOTO).digest()
    go.media[sha] = PHOTO
    t, conn = connected(go, make)
    body = E.Message(imageMessage=E.ImageMessage(mimetype="image/jpeg", fileSHA256=sha,
                                                 fileLength=len(PHOTO), directPath="/v/t62/x"))
    assert conn.deliver(message(N, body))
    [got] = wait_events(t)
    assert got.kind == "image" and got.media.sha256 == sha.hex()
    assert not [c for c in go.calls if c[0] == "DownloadAny"]   # nothing fetched until asked
    data = got.media.fetch()
    assert data == PHOTO and hashlib.sha256(data).digest() == sha
    [(_, asked)] = [c for c in go.calls if c[0] == "DownloadAny"]
    assert asked.imageMessage.directPath == "/v/t62/x"


def test_a_failed_download_is_a_transport_error(N, E, go, make):
    t, conn = connected(go, make)
    body = E.Message(audioMessage=E.AudioMessage(mimetype="audio/ogg", seconds=3, PTT=True,
                                                 fileSHA256=b"\x01" * 32))
    conn.deliver(message(N, body))
    [got] = wait_events(t)
    with pytest.raises(TransportError, match="media download failed.*404"):
        got.media.fetch()


def test_a_lid_sender_is_resolved_through_neonizes_store_when_known(N, E, go, make):
    go.lids[LID] = CUSTOMER
    t, conn = connected(go, make)
    conn.deliver(message(N, E.Message(conversation="hi"), sender=jid(N, LID, "lid"), msg_id="A"))
    conn.deliver(message(N, E.Message(conversation="hi"), sender=jid(N, "999888777666555", "lid"),
                         msg_id="B"))
    first, second = wait_events(t, 2)
    assert (first.sender, first.sender_lid) == ("+" + CUSTOMER, f"{LID}@lid")
    assert (second.sender, second.sender_lid) == ("", "999888777666555@lid")   # unknown, kept
    assert ("GetPNFromLID", LID, "lid") in go.calls
    assert t.phone_for_lid("999888777666555@lid") == ""
    go.lids["999888777666555"] = "971500000001"      # the mapping appears later
    assert t.phone_for_lid("999888777666555@lid") == "+971500000001"


def test_messages_inside_the_offline_sync_are_marked_offline(N, E, go, make):
    t, conn = connected(go, make)
    text = lambda i: message(N, E.Message(conversation=f"m{i}"), msg_id=f"M{i}")  # noqa: E731
    for event in (N.Connected(status=True), text(1), N.OfflineSyncPreview(Total=2, Message=2),
                  text(2), text(3), N.OfflineSyncCompleted(Count=2), text(4)):
        assert conn.deliver(event)
    got = wait_events(t, 7)
    assert [type(e).__name__ for e in got] == ["Connected", "Inbound", "OfflineSyncStarted",
                                               "Inbound", "Inbound", "OfflineSyncCompleted",
                                               "Inbound"]
    assert [(e.message_id, e.offline) for e in got if isinstance(e, ev.Inbound)] == [
        ("M1", False), ("M2", True), ("M3", True), ("M4", False)]


def test_a_person_on_the_phone_comes_through_but_our_own_send_does_not(N, E, go, make):
    t, conn = connected(go, make)
    sent_id = t.send("+" + CUSTOMER, "Welcome to White Caves", "reply:1")
    own, chat = jid(N, PHONE[1:]), jid(N, CUSTOMER)
    conn.deliver(message(N, E.Message(conversation="Welcome to White Caves"), sender=own, chat=chat,
                         from_me=True, msg_id=sent_id))            # an echo of our send
    conn.deliver(message(N, E.Message(conversation="Hi, Sara here"), sender=own, chat=chat,
                         from_me=True, msg_id="3EB0PHONE"))        # typed on the phone
    [got] = wait_events(t)
    time.sleep(0.1)
    assert got == expect(message_id="3EB0PHONE", text="Hi, Sara here", from_me=True)
    assert t.poll() == []


def test_edit_revoke_reaction_and_undecryptable_are_subscribed_and_dispatched(N, E, go, make):
    t, conn = connected(go, make)
    edit = E.ProtocolMessage(key=key(E), type=E.ProtocolMessage.MESSAGE_EDIT,
                             editedMessage=E.Message(conversation="new"))
    revoke = E.ProtocolMessage(key=key(E), type=E.ProtocolMessage.REVOKE)
    source = N.MessageSource(Chat=jid(N, CUSTOMER), Sender=jid(N, CUSTOMER))
    for event in (message(N, E.Message(protocolMessage=edit), msg_id="E1", edit=True),
                  message(N, E.Message(protocolMessage=revoke), msg_id="R1"),
                  message(N, E.Message(reactionMessage=E.ReactionMessage(key=key(E), text="❤")),
                          msg_id="X1"),
                  N.UndecryptableMessage(Info=N.MessageInfo(MessageSource=source, ID="U1",
                                                            Timestamp=STAMP))):
        assert conn.deliver(event), f"{type(event).__name__} not subscribed"
    got = wait_events(t, 4)
    assert [(type(e).__name__, e.message_id) for e in got] == [
        ("Edited", "E1"), ("Revoked", "R1"), ("Reaction", "X1"), ("Undecryptable", "U1")]


collect_where_runnable(globals())
