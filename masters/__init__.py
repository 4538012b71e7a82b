"""The masters domain: the business's WhatsApp accounts, their fields and the rules they obey."""
