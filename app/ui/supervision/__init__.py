"""The supervision log."""
