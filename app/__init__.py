"""PeerTrail desktop client: domain, encrypted store, billing and the Qt user interface."""

__version__ = "0.1.0"
