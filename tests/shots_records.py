"""Screenshots of the caseload, the participant record, the participant form and the
import preview, on an invented demo caseload.

    QT_QPA_PLATFORM=offscreen python -m tests.shots_records OUT_DIR
    QT_QPA_PLATFORM=offscreen QT_SCALE_FACTOR=2 python -m tests.shots_records OUT_DIR

Writes PNGs into OUT_DIR (a temporary vault is made and removed; nothing personal:
every person is invented by app.demo).
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import date
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QWidget

from app.demo import fill_demo
from app.domain.records import Consent
from app.domain.records import ConsentKind
from app.services.vaults import Session
from app.store import vault as vault_module
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from app.ui.caseload.caseload import CaseloadView
from app.ui.caseload.models import CaseloadModel
from app.ui.shell.app import make_application
from app.ui.shell.context import AppContext
from app.ui.shell.tasks import TaskManager
from tests.conftest import FAST_KDF


def wait(tasks: TaskManager) -> None:
    app = QCoreApplication.instance()
    while tasks.busy:
        app.processEvents()
    for _ in range(5):
        app.processEvents()


def save(w: QWidget, out: Path, name: str) -> None:
    QCoreApplication.instance().processEvents()  # let layouts catch up with new texts
    w.grab().save(str(out / f"{name}.png"))


def _consents(person, today: date) -> list[Consent]:
    """Three consents of ``person``: a Part 2 one expiring soon, an expired general one
    and a revoked Part 2 one."""
    part2 = {"kind": ConsentKind.PART2, "disclosing_party": "Prairie Path Peer Support"}
    rows = [  # kind and discloser, recipient, purpose, signed days ago, expires in days, more
        (part2, "County social services", "Coordinate housing support", 340, 20,
         {"information_scope": "Attendance and recovery goals; no session narratives"}),
        ({"kind": ConsentKind.GENERAL}, "Sister (emergency contact)", "Scheduling", 700, -335, {}),
        (part2, "Drug court", "Compliance reports", 200, 165,
         {"information_scope": "Attendance only", "revoked_on": today - timedelta(days=30),
          "revocation_note": "Told me in person she no longer wants reports sent."}),
    ]  # fmt: skip
    return [
        Consent(
            participant_id=person.id,
            recipient=recipient,
            purpose=purpose,
            signed_on=today - timedelta(days=signed),
            expires_on=today + timedelta(days=expires),
            **base,
            **more,
        )
        for base, recipient, purpose, signed, expires, more in rows
    ]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    app = make_application([])
    vault_module.DEFAULT_KDF = FAST_KDF
    tmp = Path(tempfile.mkdtemp(prefix="records-shots-"))
    vault = Vault(tmp / "vault")
    vault.create("screenshots passphrase")
    store = Store.open(vault)
    today = date.today()
    fill_demo(store, participants=14, years=1, seed=5, today=today)
    repos = Repositories(store)
    people = repos.participants.caseload()
    star = people[0]
    repos.consents.add_many(_consents(star, today))
    tasks = TaskManager()
    session = Session(vault, store)
    user = repos.users.require(store.user_id)
    ctx = AppContext(tasks, session, user)

    from app.services.caseload import caseload_rows
    from app.ui.participant.participant_page import ParticipantPage

    model = CaseloadModel()
    view = CaseloadView(model)
    view.resize(1000, 700)
    view.attach(ctx)
    view.show()
    model.set_rows(caseload_rows(repos, today))
    view.fit_columns()
    wait(tasks)
    save(view, out, "caseload")
    view.attention_filter.setCurrentIndex(1)
    view.status_filter.setCurrentIndex(2)
    save(view, out, "caseload-filtered")
    view.reset_filters()

    page = ParticipantPage(ctx)
    page.resize(1000, 700)
    page.show()
    page.show_participant(star.id)
    wait(tasks)
    for i, name in enumerate(("profile", "goals", "consents", "barc10", "timeline")):
        page.tabs.setCurrentIndex(i)
        if name == "consents":
            page.consent_table.selectRow(2)
        wait(tasks)
        save(page, out, f"record-{name}")

    form = page.edit_profile()
    assert form is not None
    wait(tasks)
    form.fields["date_of_birth"].widget.setText("13/45/1990")
    form.fields["medicaid_id"].widget.setText("12-AB")
    form.submit()
    wait(tasks)
    save(form, out, "form-validation")
    form.close()

    dialog = page.add_barc10()
    dialog.set_scores([4, 5, 3, 4, 4, 5, 3, 6, 4, 5])
    save(dialog, out, "barc10-form")
    dialog.close()
    dialog = page.add_consent()
    dialog.submit()
    save(dialog, out, "consent-form-errors")
    dialog.close()
    dialog = page.edit_goal(next(iter(page.goal_cards.values())).goal)
    save(dialog, out, "goal-form")
    dialog.close()

    csv_path = tmp / "caseload.csv"
    csv_path.write_text(
        "first_name,last_name,date_of_birth,medicaid_id,county,program,pronouns\n"
        "Odessa,Brightwater,1987-05-02,ND4455667,Cass,1915(i),she/her\n"
        "Lorcan,Featherby,1990-13-01,ND1122334,Ward,SUD Voucher,he/him\n"
        "Mirela,Stonebrook,1979-09-30,ND998,Burleigh,Moonbeam program,\n"
        f"{star.first_name},{star.last_name},{star.date_of_birth},,Stark,1915(i),\n"
        "Thaddeus,Quillon,1995-01-20,MN5566778,Clay,MN Medical Assistance,they/them\n",
        encoding="utf-8",
    )
    imp = view.import_participants()
    imp.load_file(csv_path)
    wait(tasks)
    save(imp, out, "import-preview")
    imp.confirm()
    wait(tasks)
    save(imp, out, "import-done")
    imp.close()

    view.detach()
    tasks.shutdown(final=session.close)
    app.processEvents()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
