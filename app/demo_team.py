"""An invented supervisor's demo: a team of specialists whose work has "arrived by sync".

``fill_demo_team(store, specialists=3, participants=14, years=1, seed, today)``
turns an empty vault into a supervisor's vault: the owner becomes a supervisor,
and each specialist gets an invented caseload, a year of notes at every life-cycle
stage (drafts, notes waiting for review, some signed late, returned ones answered
with an addendum, approved and billed ones), hours, continuing education and
monthly supervision, plus one group session this month that not everyone has
signed yet. The generators are app.demo's; every person is invented.

What a supervisor's vault holds comes from the server, so the records are written
the way sync writes them: in ``remote`` capture mode (nothing goes to the outbox,
the supervisor did not write them) with field stamps from each author's device at
the time the author wrote them, so a note's audit trail reads as it would after a
real sync. The same arguments always give the same records.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from datetime import date
from datetime import datetime
from datetime import timedelta

from app.demo import FIRST_NAMES
from app.demo import LAST_NAMES
from app.demo import _DemoBuilder
from app.demo import _utc
from app.demo import claim_names
from app.domain import lifecycle
from app.domain.records import Addendum
from app.domain.records import Credential
from app.domain.records import Encounter
from app.domain.records import Modality
from app.domain.records import PeerKind
from app.domain.records import Record
from app.domain.records import Role
from app.domain.records import SupervisionFormat
from app.domain.records import SupervisionSession
from app.domain.records import SupervisionTopic
from app.domain.records import TimeEntry
from app.domain.records import User
from app.domain.supervision import received_entry
from app.store.codec import codec
from app.store.db import Store
from app.store.digest import counts
from app.store.repositories import Repositories

Progress = Callable[[int, int], None]
SUPERVISOR_DEVICE = "demosupervisor"
LATE_SIGNING = 0.09  # share of notes signed more than a few days after the service
CREDENTIALS = (
    (Credential.ND_CPSS_II, PeerKind.RECOVERY),
    (Credential.ND_CPSS_I, PeerKind.MENTAL_HEALTH),
    (Credential.MN_CFPS, PeerKind.FAMILY),
    (Credential.ND_CPSS_I, PeerKind.RECOVERY),
)


def _stamp(at: datetime, device: str, counter: int = 0) -> str:
    return f"{int(at.timestamp() * 1000):012x}.{counter:04x}.{device}"


class _Writer:
    """Inserts records as a sync would: rows plus the stamp of every field."""

    def __init__(self, store: Store) -> None:
        self.conn = store.conn
        self.stamps: list[tuple[str, str, str, str]] = []
        self.n = 0

    def add(self, rec: Record, at: datetime, device: str, later: dict | None = None) -> None:
        c = codec(type(rec))
        names = c.names
        self.conn.execute(
            f"INSERT INTO {rec.TABLE} ({', '.join(chr(34) + n + chr(34) for n in names)}) "
            f"VALUES ({', '.join('?' for _ in names)})",
            c.to_row(rec),
        )
        base = _stamp(at, device)
        later = later or {}
        for name in names:
            if name != "id":
                self.stamps.append((rec.id, name, rec.TABLE, later.get(name, base)))
        self.n += 1

    def flush(self) -> None:
        self.conn.executemany(
            "INSERT INTO field_stamps (record_id, field, table_name, stamp) VALUES (?,?,?,?) "
            "ON CONFLICT (record_id, field) DO UPDATE SET stamp = excluded.stamp",
            self.stamps,
        )
        self.stamps.clear()


def _shift(plan, days: int, now: datetime) -> None:
    """Move a note's signing (and what followed it) ``days`` later, within ``now``."""
    delta = timedelta(days=days)
    for attr in ("signed_at", "returned_at", "addendum_at", "approved_at"):
        v = getattr(plan, attr)
        if v is not None:
            setattr(plan, attr, v + delta)
    if plan.signed_at is not None and plan.signed_at >= now:
        plan.signed_at = now - timedelta(hours=1)
        plan.returned_at = plan.addendum_at = plan.approved_at = None
        plan.batch = None
    for attr in ("returned_at", "addendum_at", "approved_at"):
        if getattr(plan, attr) is not None and getattr(plan, attr) >= now:
            setattr(plan, attr, None)
    if plan.approved_at is None or (plan.batch and plan.batch[1] <= plan.approved_at):
        plan.batch = None


def _play(
    plan, spec: User, supervisor: User, device: str
) -> tuple[Encounter, list[Addendum], dict[str, str]]:
    """The note after its life cycle, its addenda, and the stamp of each field that
    changed after the note was written (when, and on whose device)."""
    note = plan.note
    stamps: dict[str, str] = {}
    addenda: list[Addendum] = []

    def mark(fields: tuple[str, ...], at: datetime, by: str) -> None:
        for f in (*fields, "status"):
            stamps[f] = _stamp(at, by, 1)

    if plan.signed_at is None:
        return note, addenda, stamps
    note = lifecycle.sign(note, spec, plan.signed_at)
    mark(("signed_by_id", "signed_at", "content_hash"), plan.signed_at, device)
    if plan.returned_at is not None:
        note = lifecycle.return_for_revision(
            note, supervisor, plan.returned_at, plan.return_comment
        )
        mark(
            ("reviewed_by_id", "reviewed_at", "review_comment"), plan.returned_at, SUPERVISOR_DEVICE
        )
    if plan.addendum_at is not None:
        add, note = lifecycle.make_addendum(
            note, spec, plan.addendum_at, *plan.addendum, addendum_id=plan.addendum_id
        )
        addenda.append(add)
        if plan.returned_at is not None:
            mark((), plan.addendum_at, device)
    if plan.approved_at is not None:
        note = lifecycle.approve(note, supervisor, plan.approved_at, note.content_hash)
        fields = ("reviewed_by_id", "reviewed_at", "review_comment", "approved_content_hash")
        mark(fields, plan.approved_at, SUPERVISOR_DEVICE)
    if plan.batch is not None:
        note = lifecycle.mark_billed(note, plan.batch[0], plan.batch[1])
        mark(("billing_batch_id", "billed_at"), plan.batch[1], "demobilling")
    return note, addenda, stamps


def fill_demo_team(
    store: Store,
    specialists: int = 3,
    participants: int = 14,
    years: int = 1,
    seed: int = 11,
    today: date | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Fill an empty, opened vault with a supervisor's invented team. Returns how many
    records of each type the vault then holds. Raises ValueError for a vault that
    already holds participants or for bad sizes."""
    if not 1 <= specialists <= 40 or participants < 1 or years < 1:
        raise ValueError("the demo team needs 1 to 40 specialists, people and a year")
    repos = Repositories(store)
    if repos.participants.count(include_deleted=True):
        raise ValueError("the demo team goes into an empty vault; this one has participants")
    today = today or date.today()
    b0 = _DemoBuilder(years, seed, today)
    owner = repos.users.require(store.user_id)
    supervisor: User = owner.replace(  # type: ignore[assignment]
        username=owner.username or "demo-supervisor",
        display_name=f"{b0.pick(FIRST_NAMES)} {b0.pick(LAST_NAMES)}",
        role=Role.SUPERVISOR,
        credential=Credential.ND_CPSS_II,
        peer_kind=PeerKind.RECOVERY,
        npi=b0.npi(),
        active=True,
    )
    supervisor = claim_names(supervisor)
    payers = b0.payers()
    now = b0.now
    w = _Writer(store)
    total = specialists + 2
    if progress:
        progress(0, total)
    with store.transaction(mode="remote"):
        c = codec(User)
        values = c.to_values(supervisor)
        store.conn.execute(
            "UPDATE users SET "
            + ", ".join(f'"{k}" = ?' for k in c.names if k != "id")
            + " WHERE id = ?",
            (*[values[k] for k in c.names if k != "id"], supervisor.id),
        )
        for p in payers.values():
            w.add(p, now - timedelta(days=365 * years), SUPERVISOR_DEVICE)
        team: list[User] = []
        seen_names = {supervisor.display_name}
        for k in range(specialists):
            b = _DemoBuilder(years, seed * 1000 + k + 1, today)
            b.medicaid_ids = b0.medicaid_ids  # unique across the team
            cred, kind = CREDENTIALS[k % len(CREDENTIALS)]
            spec: User = b.owner(
                User(id=b.uid(), username=f"demo-specialist-{k + 1}", display_name=""), supervisor
            ).replace(credential=cred, peer_kind=kind)  # type: ignore[assignment]
            while spec.display_name in seen_names:
                spec = spec.replace(  # type: ignore[assignment]
                    display_name=f"{b.pick(FIRST_NAMES)} {b.pick(LAST_NAMES)}"
                )
            spec = claim_names(spec)
            seen_names.add(spec.display_name)
            team.append(spec)
            device = f"demolaptop{'abcdefghijklmnopqrstuvwxyz'[k % 26]}"
            w.add(spec, now - timedelta(days=365 * years), "demoserver")
            _fill_specialist(w, b, spec, supervisor, payers, participants, device, now)
            w.flush()
            if progress:
                progress(k + 1, total)
        _group_session(w, b0, supervisor, team, today)
        w.flush()
    if progress:
        progress(total, total)
    return {table: c["records"] for table, c in counts(store).items()}


def _fill_specialist(
    w: _Writer,
    b: _DemoBuilder,
    spec: User,
    supervisor: User,
    payers: dict,
    participants: int,
    device: str,
    now: datetime,
) -> None:
    people = [b.person(spec, payers) for _ in range(participants)]
    for p in people:
        made = _utc(p.rec.intake_date or b.today, 9 * 60)
        w.add(p.rec, min(made, now), device)
        for g in p.goals:
            w.add(g, min(_utc(g.started_on or b.today, 10 * 60), now), device)
        for cons in b.consents(p):
            w.add(cons, min(_utc(cons.signed_on or b.today, 10 * 60), now), device)
        for a in b.barc10(p, spec):
            w.add(a, min(_utc(a.assessed_on, 11 * 60), now), device)
    batches = b.batches()
    plans = [b.note_plan(b.note(v, spec), v.person, batches) for v in b.visits(people)]
    rng = b.rng
    for pl in plans:
        age = (b.today - pl.note.service_date).days
        late = rng.random() < LATE_SIGNING
        if pl.signed_at is not None and pl.returned_at is None and age >= 6 and late:
            _shift(pl, rng.randint(4, 9), now)
    notes: list[Encounter] = []
    for pl in plans:
        note, addenda, later = _play(pl, spec, supervisor, device)
        end = note.end_time or note.start_time
        written = _utc(note.service_date, (end.hour * 60 + end.minute) if end else 12 * 60)
        w.add(note, min(written, now), device, later)
        for a in addenda:
            w.add(a, a.written_at, device)
        notes.append(note)
    entries = b.time_for_visits(spec, notes) + b.training(spec)
    sessions, sup_time = b.supervision(spec, supervisor, people)
    if sessions:  # the latest session: the specialist has not signed it yet
        last = sessions[-1]
        sessions[-1] = last.replace(specialist_signed_at=None)  # type: ignore[assignment]
        sup_time = [e for e in sup_time if e.supervision_id != last.id]
    for e in _entries_written(entries + sup_time):
        w.add(e, min(_utc(e.entry_date, 17 * 60), now), device)
    for s in sessions:
        w.add(s, s.supervisor_signed_at or now, SUPERVISOR_DEVICE)


def _entries_written(entries: Iterable[TimeEntry]) -> list[TimeEntry]:
    return sorted(entries, key=lambda e: (e.entry_date, e.id))


def _group_session(
    w: _Writer, b: _DemoBuilder, supervisor: User, team: list[User], today: date
) -> None:
    """A group session a few days ago: signed by the supervisor and
    by all but one specialist."""
    if len(team) < 2:
        return
    day = today - timedelta(days=3)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    signed = _utc(day, 11 * 60)
    s = SupervisionSession(
        id=b.uid(),
        supervisor_id=supervisor.id,
        specialist_ids=tuple(u.id for u in team),
        session_date=day,
        minutes=90,
        format=SupervisionFormat.GROUP,
        modality=Modality.VIDEO,
        topics=(SupervisionTopic.ETHICS.value, SupervisionTopic.SELF_CARE.value),
        action_items="Each of us brings one boundary question from the field next time.",
        next_date=day + timedelta(days=28),
        supervisor_signed_at=signed,
    )
    w.add(s, signed, SUPERVISOR_DEVICE)
    for u in team[:-1]:
        e = received_entry(s, u.id, signed + timedelta(hours=3), b.uid())
        w.add(e, signed + timedelta(hours=3), "demolaptopa")
