"""Schema 5 (billing): a vault saved at schema 4 upgrades, and sync's rules say who
may bill."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.domain.records import BillingProvider
from app.domain.records import ClaimGrouping
from app.store import migrations
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from sync.merge import permission_problem
from tests.helpers import FIXTURES
from tests.helpers import copy_unlocked
from tests.helpers import raw_version


@pytest.fixture
def v4_vault(tmp_path: Path) -> Vault:
    return copy_unlocked(FIXTURES / "billing_vault_v4", tmp_path / "old", "fixture passphrase v4")


def test_v4_vault_upgrades_to_billing(v4_vault: Vault):
    assert raw_version(v4_vault) == 4
    s = Store.open(v4_vault)
    assert s.schema_version == migrations.LATEST >= 5
    assert s.migration_backup is not None and "pre-migration-v4-" in s.migration_backup.name
    r = Repositories(s)
    (payer,) = r.payers.list()
    assert payer.name == "Fixture Medicaid" and payer.rate_cents_per_unit == 1650
    assert payer.receiver_id == "" and payer.claim_grouping is ClaimGrouping.PER_DAY
    assert payer.usage_indicator == "T" and payer.allowed_modifiers == ()
    (note,) = r.encounters.list()
    assert note.status.value == "approved"
    # the new and changed tables capture changes for sync
    r.payers.update(payer.replace(receiver_id="NDMMIS", allowed_modifiers=("HQ",)))
    r.billing_providers.add(BillingProvider(name="Fixture Agency", npi="1558598797"))
    fields = {
        (t, f)
        for t, f in s.conn.execute(
            "SELECT table_name, field FROM outbox WHERE table_name IN "
            "('payers', 'billing_providers')"
        )
    }
    assert {("payers", "receiver_id"), ("payers", "allowed_modifiers")} <= fields
    assert ("billing_providers", "npi") in fields
    s.close()


APPROVED = {"status": "approved", "specialist_id": "u1"}


@pytest.mark.parametrize("role", ["billing", "supervisor"])
def test_billing_staff_and_supervisors_bill(role):
    for field, value in (("status", "billed"), ("billing_batch_id", "b1"), ("billed_at", "x")):
        assert permission_problem(role, "me", "encounters", field, value, APPROVED, True) is None
    billed = {"status": "billed", "specialist_id": "u1"}
    assert permission_problem(role, "me", "encounters", "status", "approved", billed, True) is None
    assert permission_problem(role, "me", "billing_batches", "status", "void", {}, True) is None


def test_nobody_else_bills():
    for field, value in (("status", "billed"), ("billing_batch_id", "b1")):
        assert permission_problem("specialist", "u1", "encounters", field, value, APPROVED, True)
    assert permission_problem("specialist", "u1", "billing_batches", "status", "void", {}, True)
    signed = {"status": "signed", "specialist_id": "u1"}
    assert permission_problem("billing", "b", "encounters", "billing_batch_id", "b1", signed, True)
    assert permission_problem("billing", "b", "encounters", "status", "billed", signed, True)
    # billing settings: billing staff only
    assert permission_problem("billing", "b", "billing_providers", "npi", "1", {}, False) is None
    assert permission_problem("supervisor", "s", "billing_providers", "npi", "1", {}, False)
    assert permission_problem("supervisor", "s", "payers", "receiver_id", "X", {}, False)
