"""provision: an engine that converges servers over SSH from roles and an inventory."""

__version__ = "0.1.0"
