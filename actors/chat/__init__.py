"""Chat commands: what customers and admins can ask a master by WhatsApp.

A command is one decorated function in actors/chat/commands.py; `respond`
turns an inbound text into the replies to send.
"""
from actors.chat.registry import respond  # noqa: F401
