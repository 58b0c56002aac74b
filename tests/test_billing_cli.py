"""``python main.py export``: exit 5 when pre-flight problems stop it (record ids only
on the terminal), 0 when files were written; --skip-invalid, --dry-run, void-batch
(with the void file of a batch the payer already has)."""

from __future__ import annotations

from datetime import date
from datetime import timedelta
from pathlib import Path

from app.store.db import Store
from app.store.repositories import Repositories
from tests.billing_world import make_world
from tests.billing_world import service
from tests.conftest import PASSPHRASE
from tests.helpers import run_cli
from tests.x12check import pyx12_errors

ENV = {"PEERTRAIL_PASSPHRASE": PASSPHRASE}


def test_export_command_exit_codes(vault, tmp_path: Path):
    store = Store.open(vault)
    repos = Repositories(store)
    w = make_world(repos, people=2)
    day = date.today() - timedelta(days=20)
    ok = service(w, w.people[0], day)
    repos.participants.update(w.people[1].replace(medicaid_id=""))
    held = service(w, w.people[1], day, start=(11, 0))
    store.close()
    out = tmp_path / "claims"
    out.mkdir()
    period = ["--from", (day - timedelta(days=3)).isoformat(), "--to", day.isoformat()]
    base = ["export", "--data-dir", str(vault.dir), *period, "--out", str(out)]

    r = run_cli(*base, env=ENV)
    assert r.returncode == 5, r.stderr
    assert f"participants {w.people[1].id}" in r.stderr and "--skip-invalid" in r.stderr
    for secret in (w.people[1].first_name, w.people[1].last_name, w.people[0].medicaid_id):
        assert secret not in r.stderr + r.stdout
    assert list(out.iterdir()) == []

    r = run_cli(*base, "--skip-invalid", "--dry-run", env=ENV)
    assert r.returncode == 0 and "Dry run" in r.stdout and list(out.iterdir()) == []

    r = run_cli(*base, "--skip-invalid", env=ENV)
    assert r.returncode == 0, r.stderr
    files = sorted(out.iterdir())
    assert sorted(f.suffix for f in files) == [".csv", ".pdf", ".x12", ".xlsx"]
    x12 = next(f for f in files if f.suffix == ".x12")
    assert pyx12_errors(x12.read_text()) == []
    assert "personal data" in r.stdout

    store = Store.open(vault)
    repos = Repositories(store)
    assert repos.encounters.require(ok.id).status.value == "billed"
    assert repos.encounters.require(held.id).status.value == "approved"
    (batch,) = repos.billing_batches.list()
    store.close()

    bad = run_cli("void-batch", "--data-dir", str(vault.dir), batch.id, "--reason", "x",
                  "--submitted-to", str(out), "--ref", "no-equals-sign", env=ENV)  # fmt: skip
    assert bad.returncode == 2 and "--ref" in bad.stderr
    voids = out / "void"
    voids.mkdir()
    r = run_cli("void-batch", "--data-dir", str(vault.dir), batch.id, "--reason", "Wrong receiver",
                "--submitted-to", str(voids), env=ENV)  # fmt: skip
    assert r.returncode == 0, r.stderr
    (void_file,) = voids.iterdir()
    assert void_file.name.endswith("-void.x12") and str(void_file) in r.stdout
    assert pyx12_errors(void_file.read_text()) == [] and "REF*F8*" in void_file.read_text()
    r = run_cli("batches", "--data-dir", str(vault.dir), env=ENV)
    assert "void: Wrong receiver" in r.stdout


def test_export_usage_errors(vault, tmp_path: Path):
    Store.open(vault).close()
    r = run_cli("export", "--data-dir", str(vault.dir), "--from", "2026-13-01", "--to",
                "2026-10-31", "--out", str(tmp_path), env=ENV)  # fmt: skip
    assert r.returncode == 2 and "calendar date" in r.stderr
    r = run_cli("export", "--data-dir", str(vault.dir), "--from", "2026-10-01", "--to",
                "2026-10-31", env=ENV)  # fmt: skip
    assert r.returncode == 2 and "--out" in r.stderr
    r = run_cli("export", "--data-dir", str(vault.dir), "--from", "2026-10-01", "--to",
                "2026-10-31", "--out", str(tmp_path / "missing"), env=ENV)  # fmt: skip
    assert r.returncode == 2 and "existing folder" in r.stderr


def test_specialist_list_says_whether_a_claim_name_is_set_never_the_name(vault):
    store = Store.open(vault)
    repos = Repositories(store)
    me = repos.users.require(store.user_id)
    repos.users.update(me.replace(first_name="Oriane", last_name="Vasquez-Tallow"))
    store.close()
    r = run_cli("billing", "specialist", "list", "--data-dir", str(vault.dir), env=ENV)
    assert r.returncode == 0, r.stderr
    assert me.username in r.stdout and "name set" in r.stdout
    assert "Oriane" not in r.stdout + r.stderr and "Vasquez" not in r.stdout + r.stderr
