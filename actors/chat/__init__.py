"""Chat commands: what customers and admins can ask a master by WhatsApp.

A command is one decorated function in actors/chat/commands.py; `respond`
turns an inbound text into the replies to send; `auto_replies` answers
plain customer messages (welcome, after hours) when configured.
"""
from actors.chat.autoreply import auto_replies  # noqa: F401
from actors.chat.registry import respond  # noqa: F401
