"""Search across participants and notes."""
