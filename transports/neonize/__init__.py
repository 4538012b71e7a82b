"""The real WhatsApp transport, through neonize. Importing this package does not import
neonize (its Go runtime must start only in the session's own process)."""
from transports.neonize.mapping import to_domain
from transports.neonize.transport import NeonizeTransport

__all__ = ["NeonizeTransport", "to_domain"]
