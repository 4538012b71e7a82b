"""Thespian actors of the daemon and the message vocabulary between them."""
