"""The program report screen (directors, supervisors, billing; a specialist sees their own)."""
