"""The central sync server: HTTP API (FastAPI), storage (SQLAlchemy Core on SQLite or
PostgreSQL), users, devices, roles, and the admin command line (``python -m sync.server``).
It never imports app/: the merge rules come from sync.merge, like the client's."""
