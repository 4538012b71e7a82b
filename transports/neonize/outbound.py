"""What NeonizeTransport sends beyond text: files, typing presence, read receipts (issue 15).

neonize 0.5.2's client builds media messages by uploading the bytes first
(`upload`, a blocking call into WhatsApp's media servers), so each function
here is called inside the transport's bounded call (transports/neonize/calls.py).

- image: `build_image_message` (it makes the JPEG thumbnail with Pillow);
- document: `build_document_message` with the name and mime type we checked;
- video: built here from `upload`: neonize's `build_video_message` runs ffmpeg
  for the duration and a thumbnail, and this host need not have ffmpeg; WhatsApp
  shows such a video with a blank preview.
"""
from __future__ import annotations

from typing import Any

from transports.base import OutboundMedia


def media_message(client: Any, media: OutboundMedia, caption: str) -> Any:
    """The neonize Message carrying `media` (uploaded now) with `caption`."""
    caption = caption or None
    if media.kind == "image":
        return client.build_image_message(media.data, caption=caption)
    if media.kind == "document":
        return client.build_document_message(media.data, caption=caption, filename=media.file_name,
                                             mimetype=media.mime)
    if media.kind == "video":
        from neonize.proto.waE2E.WAWebProtobufsE2E_pb2 import Message, VideoMessage
        from neonize.utils.enum import MediaType
        up = client.upload(media.data, MediaType.MediaVideo)
        return Message(videoMessage=VideoMessage(
            URL=up.url, caption=caption, directPath=up.DirectPath, fileEncSHA256=up.FileEncSHA256,
            fileLength=up.FileLength, fileSHA256=up.FileSHA256, mediaKey=up.MediaKey,
            mimetype=media.mime))
    raise ValueError(f"cannot send a {media.kind!r}")


def typing(client: Any, jid: Any, composing: bool) -> None:
    """"typing…" on (composing) or off (paused) in the chat `jid`."""
    from neonize.utils.enum import ChatPresence, ChatPresenceMedia
    state = ChatPresence.CHAT_PRESENCE_COMPOSING if composing else ChatPresence.CHAT_PRESENCE_PAUSED
    client.send_chat_presence(jid, state, ChatPresenceMedia.CHAT_PRESENCE_MEDIA_TEXT)


def mark_read(client: Any, jid: Any, message_ids: list[str]) -> None:
    """Read receipts (blue ticks) for a one-to-one chat's messages, sent by `jid`."""
    from neonize.utils.enum import ReceiptType
    client.mark_read(*message_ids, chat=jid, sender=jid, receipt=ReceiptType.READ)
