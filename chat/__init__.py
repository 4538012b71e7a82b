"""Chat commands: what customers and admins can ask a master by WhatsApp.

A command is one decorated function (commands/registry.py); `respond`
turns an inbound text into the replies to send; `auto_replies` answers
plain customer messages (welcome, after hours) when configured.
"""
from chat.autoreply import auto_replies  # noqa: F401
from chat.dispatch import respond  # noqa: F401
