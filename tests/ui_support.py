"""Fixtures for testing one page of the workspace on a real vault: a real
SQLCipher file, the real database worker thread and a real Qt event loop.

``app_ctx`` gives an :class:`app.ui.shell.context.AppContext` for the vault's owner (a
specialist); ``app_ctx_for(role)`` makes one whose owner has another role; ``make_window(data_dir)``
shows the real main window (tests.helpers.new_vault makes a locked vault for it to open)
and ``unlock(qtbot, window)`` opens it as a person does; ``search_window`` shows the
search bar on its own.
Tests wait for the worker with :func:`settle`, never with sleeps. Data is set up
with ``ctx_repos(ctx)`` before the page is shown (the worker is idle then).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.domain.records import Role
from app.services.vaults import Session
from app.store.db import Store
from app.store.repositories import Repositories
from app.ui.shell.context import AppContext
from app.ui.shell.main_window import MainWindow
from app.ui.shell.tasks import TaskManager


def settle(qtbot, ctx: AppContext | MainWindow, timeout: int = 10_000) -> None:
    """Wait until the database worker (of a page's context or of the main window)
    has nothing queued and its callbacks ran."""
    qtbot.waitUntil(lambda: not ctx.tasks.busy, timeout=timeout)


def shown(qtbot, page, ctx: AppContext, size: tuple[int, int] | None = (1000, 700)):
    """``page`` (a widget on ``ctx``) of ``size`` (None: its own), shown, once the worker
    has read what it asked for."""
    qtbot.addWidget(page)
    if size is not None:
        page.resize(*size)
    page.show()
    settle(qtbot, ctx)
    return page


def search_window(ctx: AppContext, size: tuple[int, int]):
    """The search bar above an empty page in a window of ``size``, shown: (window, bar).
    The caller keeps the window alive and closes it."""
    from PySide6.QtWidgets import QVBoxLayout
    from PySide6.QtWidgets import QWidget

    from app.ui.search.search import SearchBar

    host = QWidget()
    bar = SearchBar(ctx)
    layout = QVBoxLayout(host)
    layout.addWidget(bar)
    layout.addWidget(QWidget(), 1)
    host.resize(*size)
    host.show()
    return host, bar


def ctx_repos(ctx: AppContext) -> Repositories:
    """Repositories for setting up data in a test while the worker is idle."""
    assert not ctx.tasks.busy, "set up data only while the worker is idle"
    return Repositories(ctx.session.store)


def unlock(qtbot, w: MainWindow, passphrase: str | None = None, timeout: int = 10_000) -> None:
    """Type the passphrase on the unlock page, click Unlock and wait until the
    workspace is up and the worker idle."""
    if passphrase is None:
        from tests.conftest import PASSPHRASE as passphrase
    w.start.unlock_page.passphrase.setText(passphrase)
    qtbot.mouseClick(w.start.unlock_page.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.workspace is not None and not w.tasks.busy, timeout=timeout)


@pytest.fixture
def app_ctx_for(qtbot, vault):
    made: list[tuple[TaskManager, Session]] = []

    def make(role: Role = Role.SPECIALIST) -> AppContext:
        store = Store.open(vault)
        repos = Repositories(store)
        user = repos.users.get(store.user_id)
        assert user is not None
        if user.role != role:
            user = dataclasses.replace(user, role=role)
            repos.users.update(user)
        tasks = TaskManager()
        session = Session(vault, store)
        made.append((tasks, session))
        return AppContext(tasks, session, user)

    yield make
    for tasks, session in made:
        tasks.shutdown(final=session.close)


def team_ctx(app_ctx_for, **team) -> AppContext:
    """A supervisor's context on a vault filled with the invented demo team (``team``:
    :func:`app.demo_team.fill_demo_team`'s arguments)."""
    from app.demo_team import fill_demo_team

    ctx = app_ctx_for(Role.SUPERVISOR)
    fill_demo_team(ctx.session.store, **team)
    return ctx


@pytest.fixture
def app_ctx(app_ctx_for) -> AppContext:
    return app_ctx_for(Role.SPECIALIST)


@pytest.fixture
def make_window(qtbot, fast_kdf):
    """``make_window(data_dir, size)``: the real main window on ``data_dir``, of ``size``
    (width, height) if given, shown (closed after the test)."""
    windows: list[MainWindow] = []

    def make(data_dir: Path, size: tuple[int, int] | None = None) -> MainWindow:
        w = MainWindow(data_dir)
        qtbot.addWidget(w)
        if size is not None:
            w.resize(*size)
        w.show()
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.close()
