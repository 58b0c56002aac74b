"""The command line, run as a person runs it: `python main.py ...` in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from tests.conftest import PASSPHRASE
from tests.helpers import add_person
from tests.helpers import run_cli
from tests.helpers import snapshot

ENV = {"PEERTRAIL_PASSPHRASE": PASSPHRASE}
HEADER = "first_name,last_name,date_of_birth,medicaid_id,county,program\n"


@pytest.fixture
def filled(vault: Vault, store: Store) -> Path:
    r = Repositories(store)
    add_person(r, "Nadia", "Orlebar", medicaid_id="555000111")
    add_person(r, "Osric", "Pellworth")
    store.close()
    return vault.dir


def _status(d: Path) -> dict:
    out = run_cli("status", "--json", "--data-dir", str(d), env=ENV)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_init_then_status(tmp_path):
    d = tmp_path / "v"
    out = run_cli("init", "--data-dir", str(d), env=ENV)
    assert out.returncode == 0, out.stderr
    assert "recovery key" in out.stdout.lower()
    key = next(line.strip() for line in out.stdout.splitlines() if line.count("-") == 8)
    info = _status(d)
    assert info["schema_version"] >= 2 and info["counts"]["users"]["records"] == 1
    again = run_cli("init", "--data-dir", str(d), env=ENV)
    assert again.returncode == 2 and "already exists" in again.stderr
    # the key printed once works
    rec = run_cli(
        "recover",
        "--data-dir",
        str(d),
        env={"PEERTRAIL_RECOVERY_KEY": key, "PEERTRAIL_NEW_PASSPHRASE": "after recovery 1"},
    )
    assert rec.returncode == 0, rec.stderr
    assert (
        run_cli(
            "status", "--data-dir", str(d), env={"PEERTRAIL_PASSPHRASE": "after recovery 1"}
        ).returncode
        == 0
    )


def test_data_dir_from_environment(filled: Path):
    out = run_cli("status", "--json", env={**ENV, "PEERTRAIL_DATA_DIR": str(filled)})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["counts"]["participants"]["records"] == 2


def test_status_digest_is_stable(filled: Path):
    a, b = _status(filled), _status(filled)
    assert a["state_digest"] == b["state_digest"] and len(a["state_digest"]) == 64


def test_wrong_passphrase_exit_3_and_files_untouched(filled: Path):
    before = snapshot(filled)
    for cmd in (
        ["status"],
        ["check"],
        ["backup", "--out", str(filled.parent / "b.zip")],
        ["passwd"],
    ):
        out = run_cli(
            *cmd,
            "--data-dir",
            str(filled),
            env={"PEERTRAIL_PASSPHRASE": "nope nope nope", "PEERTRAIL_NEW_PASSPHRASE": "x" * 12},
        )
        assert out.returncode == 3, (cmd, out.stderr)
        assert "does not unlock" in out.stderr
    assert snapshot(filled) == before
    assert not (filled.parent / "b.zip").exists()


def test_damaged_database_exit_4_nothing_overwritten(filled: Path):
    db = filled / "peertrail.db"
    data = db.read_bytes()
    db.write_bytes(data[:-1000])  # truncated
    before = snapshot(filled)
    out = run_cli("status", "--data-dir", str(filled), env=ENV)
    assert out.returncode == 4 and "cut short" in out.stderr
    assert snapshot(filled) == before


def test_corrupted_page_is_named_by_check(filled: Path):
    db = filled / "peertrail.db"
    data = bytearray(db.read_bytes())
    data[4096 * 3 + 500] ^= 0xFF  # one bit pattern inside page 4
    db.write_bytes(bytes(data))
    out = run_cli("check", "--data-dir", str(filled), env=ENV)
    assert out.returncode == 4
    assert "page 4" in out.stderr.lower() and "damaged" in out.stderr


def test_missing_or_empty_database_exit_4_and_not_created(filled: Path):
    db = filled / "peertrail.db"
    db.rename(filled.parent / "moved-away.db")
    for extra in ("peertrail.db-wal", "peertrail.db-shm"):
        (filled / extra).unlink(missing_ok=True)
    out = run_cli("status", "--data-dir", str(filled), env=ENV)
    assert out.returncode == 4 and "missing" in out.stderr
    assert not db.exists()
    db.write_bytes(b"")
    out = run_cli("status", "--data-dir", str(filled), env=ENV)
    assert out.returncode == 4 and "empty" in out.stderr
    assert db.read_bytes() == b""


def test_no_vault_at_all(tmp_path):
    out = run_cli("status", "--data-dir", str(tmp_path / "none"), env=ENV)
    assert out.returncode == 4 and "No vault" in out.stderr
    assert not (tmp_path / "none").exists()


def test_usage_errors_exit_2(filled: Path):
    assert run_cli("frobnicate").returncode == 2
    assert run_cli("backup", "--data-dir", str(filled), env=ENV).returncode == 2  # --out missing
    out = run_cli("status", "--data-dir", str(filled))  # no passphrase, no terminal
    assert out.returncode == 2 and "PEERTRAIL_PASSPHRASE" in out.stderr


def test_import_participants_all_valid(filled: Path, tmp_path):
    csv = tmp_path / "caseload.csv"
    csv.write_text(
        "First Name;Last-Name;DOB;Medicaid ID;County;Program;Diagnoses\n"
        "Petra;Quennell;1991-03-04;777888999;Cass;sud voucher;F11.20; F41.1\n".replace(
            "F11.20; F41.1", "F11.20|F41.1"
        )
        + "Quill;Rainsford;1960-12-31;;Ward;1915(i);\n",
        encoding="utf-8-sig",
    )
    out = run_cli("import", "participants", str(csv), "--data-dir", str(filled), env=ENV)
    assert out.returncode == 0, out.stderr
    assert "Imported 2" in out.stdout
    assert _status(filled)["counts"]["participants"]["records"] == 4


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "Rhea,Sandcastle,1990-02-30,123123123,Cass,1915(i)\n",
            "line 3: date_of_birth: not a real",
        ),
        (
            "Rhea,Sandcastle,02/03/1990,123123123,Cass,1915(i)\n",
            "expected a date written YYYY-MM-DD",
        ),
        ("Rhea,Sandcastle,2090-01-01,123123123,Cass,1915(i)\n", "in the future"),
        (
            "Rhea,Sandcastle,1990-01-01,123123123,Cass,1915(i)\n"
            "Silas,Tennant,1990-01-02,123123123,Cass,1915(i)\n",
            "line 4: Medicaid ID is the same as on line 3",
        ),
        ("Rhea,Sandcastle,1990-01-01,555000111,Cass,1915(i)\n", "already belongs"),
        ("Rhea,Sandcastle,1990-01-01,12,Cass,1915(i)\n", "6 to 14"),
        ("Rhea,Sandcastle,1990-01-01,123123123,Cass,Lottery\n", "program is not one of"),
        ("Rhea,1990-01-01,123123123,Cass,1915(i)\n", "has 5 cells"),
    ],
)
def test_import_rejects_bad_rows_and_imports_nothing(filled, tmp_path, body, expected):
    csv = tmp_path / "bad.csv"
    csv.write_text(HEADER + "Tobias,Underhill,1980-01-01,,Cass,1915(i)\n" + body)
    before = _status(filled)["state_digest"]
    out = run_cli("import", "participants", str(csv), "--data-dir", str(filled), env=ENV)
    assert out.returncode == 5, out.stderr
    assert expected in out.stderr
    assert "Nothing was imported" in out.stderr
    for name in ("Rhea", "Sandcastle", "Silas", "Tennant", "123123123", "1990"):
        assert name not in out.stderr + out.stdout  # messages never echo personal data
    assert _status(filled)["state_digest"] == before


def test_import_wrong_columns(filled, tmp_path):
    csv = tmp_path / "cols.csv"
    csv.write_text("name,birthday,medicaid\nUma Vance,1990-01-01,123456789\n")
    out = run_cli("import", "participants", str(csv), "--data-dir", str(filled), env=ENV)
    assert out.returncode == 5
    assert "missing columns: first_name, last_name, date_of_birth, county, program" in out.stderr


def test_import_skip_invalid(filled, tmp_path):
    csv = tmp_path / "mixed.csv"
    csv.write_text(
        HEADER
        + "Vera,Wexford,1980-01-01,,Cass,1915(i)\n"
        + "Wynn,Yardley,not-a-date,,Cass,1915(i)\n"
    )
    out = run_cli(
        "import", "participants", str(csv), "--skip-invalid", "--data-dir", str(filled), env=ENV
    )
    assert out.returncode == 0
    assert "Imported 1" in out.stdout and "skipped 1" in out.stdout
    assert "line 3" in out.stderr


def test_import_missing_or_binary_file(filled, tmp_path):
    out = run_cli(
        "import", "participants", str(tmp_path / "nope.csv"), "--data-dir", str(filled), env=ENV
    )
    assert out.returncode == 2 and "does not exist" in out.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    out = run_cli("import", "participants", str(empty), "--data-dir", str(filled), env=ENV)
    assert out.returncode == 5 and "empty" in out.stderr


def test_backup_and_restore_roundtrip(filled, tmp_path):
    digest = _status(filled)["state_digest"]
    backup = tmp_path / "monday.ptbackup"
    out = run_cli("backup", "--out", str(backup), "--data-dir", str(filled), env=ENV)
    assert out.returncode == 0, out.stderr
    again = run_cli("backup", "--out", str(backup), "--data-dir", str(filled), env=ENV)
    assert again.returncode != 0 and "already exists" in again.stderr
    # more work after the backup, then restore
    csv = tmp_path / "later.csv"
    csv.write_text(HEADER + "Xenia,Yarborough,1980-01-01,,Cass,1915(i)\n")
    assert (
        run_cli("import", "participants", str(csv), "--data-dir", str(filled), env=ENV).returncode
        == 0
    )
    assert _status(filled)["state_digest"] != digest
    out = run_cli("restore", str(backup), "--data-dir", str(filled), env=ENV)
    assert out.returncode == 0, out.stderr
    assert _status(filled)["state_digest"] == digest
    kept = [p for p in filled.parent.iterdir() if ".before-restore-" in p.name]
    assert len(kept) == 1 and (kept[0] / "peertrail.db").exists()  # nothing lost


def test_restore_refuses_bad_backups(filled, tmp_path):
    before = snapshot(filled)
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 not really a zip")
    out = run_cli("restore", str(junk), "--data-dir", str(filled), env=ENV)
    assert out.returncode == 4 and "not a PeerTrail backup" in out.stderr
    backup = tmp_path / "b.zip"
    assert (
        run_cli("backup", "--out", str(backup), "--data-dir", str(filled), env=ENV).returncode == 0
    )
    before = snapshot(filled)
    out = run_cli(
        "restore",
        str(backup),
        "--data-dir",
        str(filled),
        env={"PEERTRAIL_PASSPHRASE": "wrong wrong wrong"},
    )
    assert out.returncode == 3
    assert snapshot(filled) == before


def test_passwd(filled):
    out = run_cli(
        "passwd",
        "--data-dir",
        str(filled),
        env={**ENV, "PEERTRAIL_NEW_PASSPHRASE": "second passphrase"},
    )
    assert out.returncode == 0, out.stderr
    assert run_cli("status", "--data-dir", str(filled), env=ENV).returncode == 3
    ok = run_cli(
        "status", "--data-dir", str(filled), env={"PEERTRAIL_PASSPHRASE": "second passphrase"}
    )
    assert ok.returncode == 0
    short = run_cli(
        "passwd",
        "--data-dir",
        str(filled),
        env={"PEERTRAIL_PASSPHRASE": "second passphrase", "PEERTRAIL_NEW_PASSPHRASE": "short"},
    )
    assert short.returncode != 0 and "at least 10" in short.stderr


def test_wrong_recovery_key_exit_3(filled):
    out = run_cli(
        "recover",
        "--data-dir",
        str(filled),
        env={"PEERTRAIL_RECOVERY_KEY": "AAAA-BBBB-CCCC-DDDD", "PEERTRAIL_NEW_PASSPHRASE": "x" * 12},
    )
    assert out.returncode == 3 and "recovery key" in out.stderr


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("PeerTrail ")
