"""The server's HTTP API, by area (``sync.server.app.create_app`` puts it together).

- ``sync_routes``: ``POST /v1/sync`` (push and pull in one request).
- ``enroll_routes``: ``POST /v1/enroll`` and ``POST /v1/enroll/invite``.
- ``billing_routes``: ``POST /v1/billing/reserve``.
- ``ops_routes``: ``GET /v1/health``, ``GET /v1/ready``, ``GET /metrics``.
- ``context``: what the routes share (database, clock, limits, the device check).
- ``bodies``, ``errors``, ``limits``, ``request_log``: reading bodies, error
  answers, rate limits, the request log.
"""
