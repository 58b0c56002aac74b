"""Alembic migrations of the server's database (run by sync.server.db.upgrade)."""
