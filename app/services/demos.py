"""The demos: a specialist's invented caseload and a supervisor's invented team,
each in its own vault beside the real one (never inside it, never touching it),
opened by one opener; and the command line's demo fill of a chosen vault.

The demo vaults hold only invented people, so their passphrase is public. The
first opening fills the vault (a progress callback reports how far; a cancel
event stops it); later openings only unlock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.paths import demo_data_dir
from app.services.vaults import Session
from app.services.vaults import close_session
from app.services.vaults import open_session
from app.store.db import Store
from app.store.errors import VaultExists
from app.store.repositories import Repositories
from app.store.vault import Vault

#: The demo vault holds only invented people, so its passphrase is public.
DEMO_PASSPHRASE = "peertrail demo - invented people only"
DEMO_PARTICIPANTS = 40
DEMO_YEARS = 2
DEMO_SEED = 7


class DemoCancelled(Exception):
    """The window closed while the demo was being filled."""


class DemoRefused(VaultExists):
    """The command line's demo fill met a vault with a caseload already."""


def _fill_caseload(store: Store, progress: Callable[..., None]) -> None:
    from app.demo import fill_demo

    fill_demo(
        store, participants=DEMO_PARTICIPANTS, years=DEMO_YEARS, seed=DEMO_SEED, progress=progress
    )


def _fill_team(store: Store, progress: Callable[..., None]) -> None:
    from app.demo_team import fill_demo_team

    fill_demo_team(store, progress=progress)


@dataclass(frozen=True)
class DemoKind:
    """Which demo: its folder beside the demo folder, its "filled" mark, its filler."""

    suffix: str
    filled_key: str
    fill: Callable[[Store, Callable[..., None]], None]


CASELOAD_DEMO = DemoKind("", "demo_filled", _fill_caseload)
TEAM_DEMO = DemoKind("-team", "demo_team_filled", _fill_team)


def demo_dir(data_dir: Path, kind: DemoKind = CASELOAD_DEMO) -> Path:
    base = demo_data_dir(data_dir)
    return base.parent / (base.name + kind.suffix)


def demo_team_dir(data_dir: Path) -> Path:
    return demo_dir(data_dir, TEAM_DEMO)


def open_demo(
    data_dir: Path,
    progress: Callable[..., None],
    cancel: threading.Event | None = None,
    kind: DemoKind = CASELOAD_DEMO,
) -> Session:
    """Open (creating and filling it the first time) a demo vault beside the real
    one. The real vault is not read or touched."""
    vault = Vault(demo_dir(data_dir, kind))
    if vault.exists():
        vault.unlock(DEMO_PASSPHRASE)
    else:
        vault.create(DEMO_PASSPHRASE)
    session = open_session(vault, demo=True)
    try:
        store = session.store
        if store.meta(kind.filled_key) != "1":
            if Repositories(store).participants.count() == 0:

                def report(*args: Any, **kwargs: Any) -> None:
                    if cancel is not None and cancel.is_set():
                        raise DemoCancelled()
                    progress(*args, **kwargs)

                kind.fill(store, report)
            store.set_meta(kind.filled_key, "1")
    except BaseException:
        close_session(session)
        raise
    return session


def open_demo_team(
    data_dir: Path, progress: Callable[..., None], cancel: threading.Event | None = None
) -> Session:
    """The supervisor's demo: a team of three invented specialists."""
    return open_demo(data_dir, progress, cancel, TEAM_DEMO)


def progress_fraction(*args: Any, **kwargs: Any) -> tuple[float | None, str]:
    """Read a progress report however it is shaped: ``(done, total)``, a fraction
    ``0..1``, a percentage, and optionally a short text."""
    numbers = [a for a in args if isinstance(a, int | float) and not isinstance(a, bool)]
    numbers += [
        v for k, v in kwargs.items() if k in ("done", "total", "fraction") and v is not None
    ]
    text = " ".join(str(a) for a in args if isinstance(a, str))
    text = text or str(kwargs.get("stage", kwargs.get("message", "")))
    fraction: float | None = None
    if "done" in kwargs and "total" in kwargs and kwargs["total"]:
        fraction = kwargs["done"] / kwargs["total"]
    elif "fraction" in kwargs:
        fraction = float(kwargs["fraction"])
    elif len(numbers) >= 2 and numbers[1]:
        fraction = numbers[0] / numbers[1]
    elif len(numbers) == 1:
        fraction = numbers[0] if numbers[0] <= 1 else numbers[0] / 100
    if fraction is not None:
        fraction = min(max(fraction, 0.0), 1.0)
    return fraction, text


@dataclass(frozen=True)
class DemoFilled:
    counts: dict[str, int]
    recovery_key: str | None  # set when the vault was created for the demo


def fill_demo_vault(
    data_dir: Path,
    passphrase: str,
    participants: int,
    years: int,
    seed: int,
    progress: Callable[[int, int], None],
) -> DemoFilled:
    """The command line's demo: create (or unlock) the vault in ``data_dir`` and fill
    it with an invented caseload. Only a new or empty vault is filled, so invented
    people never mix with real ones."""
    from app.demo import fill_demo

    if participants < 1 or years < 1:
        raise DemoRefused("--participants and --years must be at least 1.")
    vault = Vault(data_dir)
    recovery = None
    if vault.exists():
        vault.unlock(passphrase)
    else:
        recovery = vault.create(passphrase)
    session = open_session(vault)
    try:
        store = session.store
        if store.meta("demo"):
            raise DemoRefused("This vault already holds a demo caseload.")
        if Repositories(store).participants.count(include_deleted=True):
            raise DemoRefused(
                "This vault already holds participants; the demo only fills a new or "
                "empty vault, so invented people never mix with real ones."
            )
        counts = fill_demo(
            store, participants=participants, years=years, seed=seed, progress=progress
        )
        meta = {"participants": participants, "years": years, "seed": seed}
        store.set_meta("demo", json.dumps(meta))
    finally:
        session.close()
    return DemoFilled(counts, recovery)
