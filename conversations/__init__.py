"""Conversations: what happens to a customer's message when it arrives (conversations/inbound.py)."""
