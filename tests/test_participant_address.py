"""A participant's address in parts and administrative sex: reading a one-line
address, the form's checks, the CSV import's optional columns, and the form
driven with key events (an older record's one-line address read into the parts)."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt

from app.domain.address import parse_one_line
from app.domain.address import zip_problem
from app.domain.participant_import import plan_import
from app.domain.record_forms import check_participant
from app.domain.records import AdministrativeSex
from app.domain.records import Participant
from app.ui.caseload.participant_form import ParticipantForm
from tests.ui_support import ctx_repos
from tests.ui_support import settle

TODAY = date(2026, 11, 20)


def test_a_one_line_address_is_read_only_when_it_is_written_the_usual_way():
    a = parse_one_line(" 12  Elm St , Apt 3, Minot, nd 587011234 ")
    assert a is not None and (a.line1, a.line2, a.city, a.state, a.zip_code) == (
        "12 Elm St", "Apt 3", "Minot", "ND", "58701-1234")  # fmt: skip
    assert a.one_line() == "12 Elm St, Apt 3, Minot, ND 58701-1234"
    for unclear in ("behind the church, Minot", "12 Elm St, Minot ND 58701", "",
                    "1, 2, 3, 4, ND 58701", "12 Elm St, Minot, North Dakota 58701"):  # fmt: skip
        assert parse_one_line(unclear) is None, unclear
    assert zip_problem("5870") and zip_problem("58701-123") and not zip_problem("58701")
    assert zip_problem("58701", need_nine=True) and not zip_problem("58701-1234", True)


def test_the_form_check_needs_a_complete_address_once_a_part_is_there():
    base = {"first_name": "Odessa", "last_name": "Brightwater", "state": "ND"}
    checked = check_participant({**base, "city": "Minot"}, today=TODAY)
    assert set(checked.problems) == {"address_line1", "zip_code"}
    checked = check_participant({**base, "administrative_sex": "x"}, today=TODAY)
    assert set(checked.problems) == {"administrative_sex"}
    checked = check_participant({**base, "address_line1": "12 Elm St", "city": "Minot",
                                 "zip_code": "587011234", "administrative_sex": "F"},
                                today=TODAY)  # fmt: skip
    p = checked.record
    assert isinstance(p, Participant)
    assert (p.zip_code, p.administrative_sex, p.address) == (
        "58701-1234", AdministrativeSex.FEMALE, "12 Elm St, Minot, ND 58701-1234")  # fmt: skip
    kept = Participant(first_name="A", last_name="B", address="behind the church")
    assert check_participant(base, today=TODAY, base=kept).record.address == "behind the church"


def test_the_import_reads_the_optional_address_and_sex_columns():
    header = ["first_name", "last_name", "dob", "medicaid_id", "county", "program",
              "street", "city", "state", "zip", "sex"]  # fmt: skip
    rows = [header,
            ["Ada", "Lark", "1990-01-02", "770000001", "Ward", "1915(i)", "12 Elm St",
             "Minot", "ND", "58701", "f"],
            ["Bo", "Wren", "1990-01-03", "770000002", "Ward", "1915(i)", "", "Minot", "ND",
             "5870", "X"]]  # fmt: skip
    plan = plan_import(rows, known_programs=["1915(i)"], existing_medicaid_ids=set(),
                       existing_people=set(), today=TODAY)  # fmt: skip
    ((_line, ada),) = plan.participants
    assert (ada.address_line1, ada.city, ada.zip_code, ada.administrative_sex) == (
        "12 Elm St", "Minot", "58701", AdministrativeSex.FEMALE)  # fmt: skip
    messages = " ".join(str(e) for e in plan.errors)
    assert "line 3" in messages and "zip_code" in messages and "administrative_sex" in messages
    assert "5870" not in messages.replace("58701", "")


def test_the_form_reads_an_older_one_line_address_into_parts_and_saves_them(qtbot, app_ctx):
    old = ctx_repos(app_ctx).participants.add(Participant(
        first_name="Odessa", last_name="Brightwater", state="ND",
        address="12 Elm St, Minot, ND 58701", assigned_specialist_id=app_ctx.user.id))  # fmt: skip
    form = ParticipantForm(app_ctx, old)
    qtbot.addWidget(form)
    form.show()
    settle(qtbot, app_ctx)
    f = form.fields
    assert (f["address_line1"].widget.text(), f["city"].widget.text(),
            f["zip_code"].widget.text()) == ("12 Elm St", "Minot", "58701")  # fmt: skip
    f["zip_code"].widget.clear()
    qtbot.keyClicks(f["zip_code"].widget, "5870")
    qtbot.keyClick(form, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert "zip_code" in form.problems_shown() and f["zip_code"].error.isVisible()
    qtbot.keyClicks(f["zip_code"].widget, "1-1234")
    sex = f["administrative_sex"].widget
    sex.setFocus()
    qtbot.keyClick(sex, Qt.Key.Key_Down)  # Not recorded -> F
    with qtbot.waitSignal(form.saved, timeout=10_000):
        qtbot.keyClick(form, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, app_ctx)
    p = ctx_repos(app_ctx).participants.require(old.id)
    assert (p.address_line1, p.city, p.state, p.zip_code, p.administrative_sex) == (
        "12 Elm St", "Minot", "ND", "58701-1234", AdministrativeSex.FEMALE)  # fmt: skip
    assert p.address == "12 Elm St, Minot, ND 58701-1234"
