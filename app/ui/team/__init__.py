"""The supervisor's team view."""
