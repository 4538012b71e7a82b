"""The masters domain: a master's device state machine, its fields, its commands."""
