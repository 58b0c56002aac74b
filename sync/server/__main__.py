"""``python -m sync.server``: see sync.server.cli."""

from sync.server.cli import main

raise SystemExit(main())
