"""Each write of app/services returns what it changed (tables and record ids), so
the desktop broadcasts it and no screen names tables by hand; reads return plain
values. Against a real SQLCipher vault."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.records import Barc10
from app.domain.records import Consent
from app.domain.records import ConsentKind
from app.domain.records import Goal
from app.domain.records import RecoveryDomain
from app.domain.records import TimeCategory
from app.domain.records import TimeEntry
from app.services import hours
from app.services import importing
from app.services import records
from app.services.changes import NOTHING
from app.services.changes import Changed
from app.services.changes import Done
from tests.helpers import add_person


def test_changed_values() -> None:
    a = Changed.of("goals", ids=["g1", None, ""])
    assert a.tables == {"goals"} and a.ids == {"g1"}
    assert (a | Changed.of("consents")).tables == {"goals", "consents"}
    assert not NOTHING and a
    assert Done(3).changed == NOTHING


def test_record_writes_name_their_table_and_record(repos) -> None:
    p = add_person(repos, "Wren", "Halvorsen")
    consent = Consent(participant_id=p.id, kind=ConsentKind.GENERAL, signed_on=date(2026, 1, 5))
    done = records.add_consent(repos, consent)
    assert done.value.id == consent.id
    assert done.changed == Changed.of("consents", ids=[consent.id])
    revoked = records.revoke_consent(repos, consent.id, date(2026, 2, 1), "asked")
    assert revoked.value.revoked_on == date(2026, 2, 1)
    assert revoked.changed == Changed.of("consents", ids=[consent.id])
    goal = Goal(participant_id=p.id, domain=RecoveryDomain.HOME, statement="A room of my own")
    assert records.save_goal(repos, goal, True).changed == Changed.of("goals", ids=[goal.id])
    barc = Barc10(participant_id=p.id, assessed_on=date(2026, 1, 5), scores=(4,) * 10)
    assert records.add_barc10(repos, barc).changed == Changed.of("barc10", ids=[barc.id])
    twin = p.replace(id="another-id-000000000000000000000")
    refused = records.save_participant(repos, twin, is_new=True, allow_duplicate=False)
    assert refused.duplicates and not refused.changed  # nothing written, nothing broadcast


def test_an_import_names_every_new_participant(repos, tmp_path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "first_name,last_name,date_of_birth,medicaid_id,county,program\n"
        "Petra,Quennell,1991-03-04,777888999,Cass,1915(i)\n"
    )
    plan = importing.preview_import(repos, path).plan
    people = [person for _line, person in plan.participants]
    done = importing.import_participants(repos, people, path.name)
    assert done.value == 1 and done.changed == Changed.of("participants", ids=[people[0].id])


def test_hours_entries(repos, store) -> None:
    entry = TimeEntry(
        specialist_id=store.user_id,
        entry_date=date(2026, 3, 2),
        category=TimeCategory.DOCUMENTATION,
        minutes=60,
    )
    saved = hours.save_entry(repos, entry)
    assert saved.changed == Changed.of("time_entries", ids=[entry.id])
    gone = hours.delete_entry(repos, entry.id, store.user_id)
    assert gone.value.deleted and gone.changed == saved.changed


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("first;last\nRenée;Bélanger\n".encode("utf-8-sig"), ["Renée", "Bélanger"]),
        ("first;last\nRenée;Bélanger\n".encode(), ["Renée", "Bélanger"]),
        ("first;last\nRenée;Bélanger\n".encode("cp1252"), ["Renée", "Bélanger"]),
        ("first,last\nZoë,O’Hara\n".encode("cp1252"), ["Zoë", "O’Hara"]),
    ],
)
def test_one_csv_reader_utf8_or_windows_1252(tmp_path, raw: bytes, expected: list[str]) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(raw)
    assert importing.read_spreadsheet(path)[1] == expected


def test_a_file_neither_utf8_nor_windows_1252_is_refused_not_guessed(tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"first,last\nAd\x81a,Quill\n")  # 0x81 is undefined in Windows-1252
    with pytest.raises(importing.ImportFileError, match="not a text spreadsheet") as e:
        importing.read_spreadsheet(path)
    assert "Quill" not in str(e.value) and e.value.exit_code == 2
