"""The workspace's shared context: work on the database thread, results dropped
after a lock, and the "what changed" broadcast that refreshes pages."""

from __future__ import annotations

from app.domain.records import Role
from app.services.changes import Changed
from app.ui.shell.context import Page
from tests.helpers import add_person
from tests.ui_support import ctx_repos
from tests.ui_support import settle


class CountPage(Page):
    title = "Count"
    tables = frozenset({"participants"})

    def __init__(self, ctx):
        super().__init__(ctx)
        self.count = -1
        self.refreshes = 0

    def refresh(self):
        super().refresh()
        self.refreshes += 1
        self.ctx.run(lambda repos: len(repos.participants.caseload()), self._show)

    def _show(self, n):
        self.count = n

    def clear(self):
        self.count = -1


def _shown(qtbot, app_ctx) -> CountPage:
    page = CountPage(app_ctx)
    qtbot.addWidget(page)
    page.show()
    return page


def test_run_gives_repositories_on_the_worker_and_results_on_the_ui_thread(qtbot, app_ctx):
    add_person(ctx_repos(app_ctx), "Wren", "Halvorsen")
    page = _shown(qtbot, app_ctx)
    settle(qtbot, app_ctx)
    assert page.count == 1


def test_changed_refreshes_visible_pages_and_marks_hidden_ones_stale(qtbot, app_ctx):
    page = _shown(qtbot, app_ctx)
    settle(qtbot, app_ctx)
    assert page.count == 0
    add_person(ctx_repos(app_ctx), "Wren", "Halvorsen")
    app_ctx.broadcast(Changed.of("goals"))
    assert page.refreshes == 1  # not a table it shows
    app_ctx.broadcast(Changed.of("participants"))
    settle(qtbot, app_ctx)
    assert page.count == 1
    page.hide()
    app_ctx.broadcast(Changed.of("participants"))
    assert page.refreshes == 2
    page.show()  # stale: refreshes when shown again
    settle(qtbot, app_ctx)
    assert page.refreshes == 3


def test_results_after_deactivate_are_dropped(qtbot, app_ctx):
    page = _shown(qtbot, app_ctx)
    app_ctx.deactivate()  # locked before the worker answered
    settle(qtbot, app_ctx)
    assert page.count == -1
    app_ctx.broadcast(Changed.of("participants"))
    assert page.refreshes == 1


def test_role_flags(app_ctx_for):
    assert not app_ctx_for(Role.SPECIALIST).is_supervisor
    sup = app_ctx_for(Role.SUPERVISOR)
    assert sup.is_supervisor and sup.can_bill


def test_a_services_write_is_broadcast_after_on_done_and_its_value_handed_over(qtbot, app_ctx):
    """The page names no table: the service's Done says what changed; the context
    hands on_done the value first, then broadcasts (with the asking page as origin)."""
    from app.domain.records import Participant
    from app.services import records

    page = _shown(qtbot, app_ctx)
    settle(qtbot, app_ctx)
    events: list = []
    app_ctx.changes.connect(lambda c: events.append(("broadcast", c, app_ctx.origin)))
    person = Participant(first_name="Wren", last_name="Halvorsen")

    def done(outcome) -> None:
        events.append(("done", outcome.saved.id, app_ctx.origin))

    app_ctx.run(records.save_participant, done, args=(person, True, True), origin=page)
    settle(qtbot, app_ctx)
    assert [e[0] for e in events] == ["done", "broadcast"]
    assert events[0][1] == person.id and events[0][2] is None
    changed, origin = events[1][1], events[1][2]
    assert changed == Changed.of("participants", ids=[person.id]) and origin is page
    assert app_ctx.origin is None  # only during the broadcast
    assert page.count == 1  # the page showing participants refreshed


def test_a_read_or_a_write_that_changed_nothing_broadcasts_nothing(qtbot, app_ctx):
    from app.services import team

    seen: list = []
    app_ctx.changes.connect(seen.append)
    app_ctx.run(lambda repos: repos.participants.count(), seen.append)
    app_ctx.run(team.set_overdue_days, seen.append, args=(5,))  # a setting, not a record
    settle(qtbot, app_ctx)
    assert seen == [0, 5]
