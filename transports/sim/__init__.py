"""The simulated WhatsApp network: a test double and the demo's network, never WhatsApp itself."""
