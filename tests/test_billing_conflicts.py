"""Billing conflicts in one vault (real SQLCipher, no server): a service in two live
batches (as after two laptops exported offline and synced) is a double bill; the
Conflicts page shows it to billing staff (not to a specialist); voiding one batch
keeps its services billed in the other; the control-number range comes from the
device's billing number."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

import pytest

from app.domain.records import BillingBatch
from app.domain.records import NoteStatus
from app.domain.records import Role
from app.services import billing
from app.services import billing_batches
from app.services.double_billing import control_range
from app.services.double_billing import double_bills
from app.store.db import Store
from app.store.replica import BILLING_NUMBER_KEY
from app.store.repositories import Repositories
from app.ui.sync.conflicts import ConflictsPage
from tests.billing_world import TODAY
from tests.billing_world import make_world
from tests.billing_world import service
from tests.ui_support import app_ctx_for  # noqa: F401 - fixture
from tests.ui_support import settle

PERIOD = (date(2026, 10, 1), date(2026, 10, 31))


def _twice(vault, tmp_path) -> tuple[BillingBatch, BillingBatch, list[str]]:
    """Export once, then receive another laptop's batch billing the same services."""
    store = Store.open(vault)
    repos = Repositories(store)
    me = repos.users.require(store.user_id)
    repos.users.update(me.replace(role=Role.BILLING))
    w = make_world(repos, people=2)
    for i, p in enumerate(w.people):
        service(w, p, date(2026, 10, 5 + i))
    out = tmp_path / "out"
    out.mkdir()
    done = billing.export(store, billing.ExportRequest(*PERIOD, out_dir=out, today=TODAY))
    first = done.batches[0].batch
    other = repos.billing_batches.add(
        first.replace(
            id="b2b2b2b2-0000-4000-8000-000000000002",
            interchange_control=200_001,
            created_at=first.created_at + timedelta(hours=1),
            files=(),
            file_hashes=(),
        )
    )
    store.close()
    return first, other, list(first.encounter_ids)


def test_two_live_batches_are_a_double_bill_until_one_is_voided(vault, tmp_path):
    first, other, ids = _twice(vault, tmp_path)
    store = Store.open(vault)
    try:
        [d] = double_bills(store)
        assert [b.id for b in d.batches] == [first.id, other.id]  # the first exported first
        assert set(d.encounter_ids) == set(ids)
        assert "void" in d.advice and f"{other.interchange_control:09d}" in d.advice
        rows = billing_batches.batch_rows(Repositories(store))
        assert {r.status for r in rows} == {"billed twice: void one"}
        # the services point at the first batch; voiding it keeps them billed in the other
        billing_batches.void_batch(store, first.id, "Billed twice")
        assert double_bills(store) == []
        for e in Repositories(store).encounters.list():
            assert e.status is NoteStatus.BILLED and e.billing_batch_id == other.id
    finally:
        store.close()


def test_the_conflicts_page_shows_billing_conflicts_to_billing_only(
    qtbot,
    vault,
    tmp_path,
    app_ctx_for,  # noqa: F811 - the fixture
):
    first, _other, _ids = _twice(vault, tmp_path)
    ctx = app_ctx_for(Role.BILLING)
    page = ConflictsPage(ctx)
    qtbot.addWidget(page)
    page.show()
    settle(qtbot, ctx)
    assert page.tabs.isTabVisible(2) and page.tabs.tabText(2) == "Billing (1)"
    text = page.billing_text.toPlainText()
    assert f"{first.interchange_control:09d}" in text and "200001" in text and "void" in text
    spec = app_ctx_for(Role.SPECIALIST)
    page2 = ConflictsPage(spec)
    qtbot.addWidget(page2)
    assert not page2.tabs.isTabVisible(2)


def test_control_numbers_come_from_the_device_billing_number(vault, tmp_path):
    store = Store.open(vault)
    try:
        assert control_range(store) == (1, 99_999)  # no server: the plain range
        store.set_meta("sync_server", '{"url": "https://x.invalid", "token": "t"}')
        with pytest.raises(Exception, match="Sync once"):
            control_range(store)  # enrolled but no number yet: could collide
        store.set_meta(BILLING_NUMBER_KEY, "42")
        assert control_range(store) == (4_200_001, 4_299_999)
        assert billing.next_control(store) == 4_200_001
    finally:
        store.close()
