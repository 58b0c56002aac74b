"""The supervisor's review queue."""
