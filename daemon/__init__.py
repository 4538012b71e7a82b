"""The daemon's assembly: the tree as data, starting and reaching the actor system, its lifecycle."""
