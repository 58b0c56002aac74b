"""Opening the supervisor's demo (a team of invented specialists) from the start
screen: like app.ui.start.start.open_demo, in its own folder beside the real vault and
the specialist demo, so neither is touched."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.paths import demo_data_dir
from app.store.vault import Vault
from app.ui.start.start import DEMO_PASSPHRASE, DemoCancelled, Session, _open_store

DEMO_TEAM_FILLED = "demo_team_filled"


def demo_team_dir(data_dir: Path) -> Path:
    base = demo_data_dir(data_dir)
    return base.parent / (base.name + "-team")


def open_demo_team(
    data_dir: Path, progress: Callable[..., None], cancel: threading.Event | None = None
) -> Session:
    """On the database thread: open (creating and filling it the first time) the
    supervisor demo vault. Its owner is a supervisor with three specialists."""
    vault = Vault(demo_team_dir(data_dir))
    if vault.exists():
        vault.unlock(DEMO_PASSPHRASE)
    else:
        vault.create(DEMO_PASSPHRASE)
    session = _open_store(vault, demo=True)
    try:
        store = session.store
        if store.meta(DEMO_TEAM_FILLED) != "1":
            from app.demo_team import fill_demo_team

            def report(*args: Any, **kwargs: Any) -> None:
                if cancel is not None and cancel.is_set():
                    raise DemoCancelled()
                progress(*args, **kwargs)

            fill_demo_team(store, progress=report)
            store.set_meta(DEMO_TEAM_FILLED, "1")
    except BaseException:
        session.close()
        raise
    return session
