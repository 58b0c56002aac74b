"""Billing export: the one code path behind the Export button and
``python main.py export``.

``export(store, request)`` loads the period's services, runs the pre-flight
checks, and, unless it is stopped by problems (or asked for a dry run), writes
per payer one batch: an 837P file, a CSV worksheet and a PDF summary into the
folder the person chose, records the batch and marks its services billed with
the batch id (both sync, so no other device bills them again) and logs the
export (who, when, which services, which files). A real export is one store
transaction from reading the services to marking them: what the pre-flight
checked is what gets marked. A failure before the commit removes the files it
wrote. ``billing_batches.void_batch`` voids a batch with a reason and puts its services back to
approved, to be billed again.

Interchange control numbers come from this device's own range (its billing
number from the server, then a sequence: app.services.double_billing), so two
devices never use the same one; before files are written the export reserves its
services on the server in one request, and a service another live batch holds
stops it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import date
from datetime import datetime
from pathlib import Path

import platformdirs

from app.billing.claims import Claim
from app.billing.claims import build_claims
from app.billing.codes import code_tables
from app.billing.files import BatchFiles
from app.billing.files import render_batch_files
from app.billing.files import replaced_batch
from app.billing.preflight import BillingData
from app.billing.preflight import Preflight
from app.billing.preflight import Problem
from app.billing.preflight import ServiceLine
from app.billing.preflight import claim_diagnoses
from app.billing.preflight import run_preflight
from app.billing.summary_pdf import held_back_services
from app.domain.datetext import clock_text
from app.domain.datetext import day_text
from app.domain.records import BillingBatch
from app.domain.records import BillingProvider
from app.domain.records import Consent
from app.domain.records import NoteStatus
from app.domain.records import Payer
from app.domain.records import Role
from app.domain.records import new_id
from app.services import duplicates
from app.services.changes import NOTHING
from app.services.changes import Changed
from app.services.double_billing import PendingReservation
from app.services.double_billing import PlannedBatch
from app.services.double_billing import control_range
from app.services.double_billing import release_on_server
from app.store.db import Store
from app.store.db import utcnow
from app.store.errors import EXIT_USAGE
from app.store.errors import StoreError
from app.store.repositories import Repositories

CONTROL_META = "billing_last_control"
BULK_CACHE_MIB = 64  # page cache while a batch is marked billed or voided (Store.page_cache)
PRIVACY_NOTE = (
    "Exported files are the only place personal data leaves the vault: they hold "
    "names, Medicaid IDs and diagnoses. Keep them in a protected folder and submit "
    "them only through the payer's secure portal."
)


class BillingRefused(StoreError):
    """A request the export cannot carry out; the message says why (no personal data)."""

    exit_code = EXIT_USAGE


@dataclass(frozen=True)
class ExportRequest:
    period_from: date
    period_to: date
    out_dir: Path | None = None
    payer_name: str | None = None  # None: every payer
    skip_invalid: bool = False  # go on with the valid services when there are problems
    dry_run: bool = False  # check and count; write nothing, mark nothing
    today: date | None = None  # for timely filing (tests)
    create_folder: bool = False  # make out_dir first (the dialog's default folder)


@dataclass(frozen=True)
class PayerTotals:
    payer_id: str
    payer_name: str
    services: int
    units: int
    cents: int


@dataclass(frozen=True)
class WrittenBatch:
    batch: BillingBatch
    payer_name: str
    paths: tuple[Path, ...]


@dataclass
class ExportResult:
    preflight: Preflight
    outcome: str  # "written", "stopped", "nothing", "dry-run"
    totals: list[PayerTotals] = field(default_factory=list)
    batches: list[WrittenBatch] = field(default_factory=list)
    labels: dict[tuple[str, str], str] = field(default_factory=dict)  # for the UI only
    server_checked: bool = False  # the server reserved every service first
    warning: str = ""  # e.g. not checked with the server (offline)
    round_trips: int = 0  # requests to the server (at most 1)
    server_seconds: float = 0.0  # the reservation request's wall time

    @property
    def held_back(self) -> int:
        return len(self.preflight.blocked_ids)

    @property
    def problems(self) -> list[Problem]:
        return self.preflight.problems

    @property
    def files(self) -> list[Path]:
        return [p for b in self.batches for p in b.paths]

    @property
    def changed(self) -> Changed:
        """Written batches mark their services billed; nothing else changes the vault."""
        if self.outcome != "written":
            return NOTHING
        ids = [b.batch.id for b in self.batches]
        return Changed.of("encounters", "billing_batches", ids=ids)


# -- who may bill --------------------------------------------------------------------


def billing_refusal(store: Store) -> str | None:
    """Why this vault's user may not export claims, or None. Billing staff, a
    supervisor and an administrator may; a specialist only in a vault that is not
    connected to a server (a one-person practice billing its own work): on a team,
    the server would refuse a specialist's billing anyway."""
    user = Repositories(store).users.get(store.user_id)
    if user is None:
        return "this vault has no user"
    if user.role in (Role.BILLING, Role.SUPERVISOR, Role.ADMIN):
        return None
    if '"token"' in store.meta("sync_server"):
        return "only billing staff or a supervisor export claims for a team"
    return None


# -- loading -------------------------------------------------------------------------


def current_provider(repos: Repositories) -> BillingProvider | None:
    found = repos.billing_providers.list(order_by="name, id", limit=1)
    return found[0] if found else None


def find_payer(repos: Repositories, name: str) -> Payer:
    wanted = name.strip().lower()
    payers = repos.payers.list()
    exact = [p for p in payers if p.name.lower() == wanted or p.payer_id.lower() == wanted]
    if len(exact) == 1:
        return exact[0]
    partial = [p for p in payers if wanted and wanted in p.name.lower()]
    if len(partial) == 1:
        return partial[0]
    names = ", ".join(sorted(p.name for p in payers)) or "none set up"
    raise BillingRefused(f"No single payer matches that name. Payers: {names}.")


def load_data(store: Store, period_from: date, period_to: date) -> BillingData:
    repos = Repositories(store)
    # Every status but billed and void, spelled out so the (status, service_date)
    # index finds the period's services instead of scanning every note.
    statuses = [s.value for s in NoteStatus if s not in (NoteStatus.BILLED, NoteStatus.VOID)]
    encounters = repos.encounters.list(
        f"status IN ({','.join('?' * len(statuses))}) AND service_date BETWEEN ? AND ?",
        (*statuses, period_from.isoformat(), period_to.isoformat()),
    )
    # A note of a record merged into another is billed for the person the merge
    # kept: their details and the consents of every record of the merge group.
    groups = duplicates.survivors(repos)
    by_record = {e.participant_id: groups.get(e.participant_id, e.participant_id)
                 for e in encounters}  # fmt: skip
    person_ids = sorted(set(by_record.values()))
    person_ids = sorted({*person_ids, *(m for m, s in groups.items() if s in person_ids)})
    found = {}
    group_consents: dict[str, list[Consent]] = defaultdict(list)
    for i in range(0, len(person_ids), 500):
        chunk = person_ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for p in repos.participants.iter(f"id IN ({marks})", chunk):
            found[p.id] = p
        for c in repos.consents.iter(f"participant_id IN ({marks})", chunk):
            group_consents[groups.get(c.participant_id, c.participant_id)].append(c)
    participants = {top: found[top] for top in set(by_record.values()) if top in found}
    participants |= {rid: found[top] for rid, top in by_record.items() if top in found}
    consents = {rid: group_consents[top] for rid, top in by_record.items() if top in group_consents}
    return BillingData(
        provider=current_provider(repos),
        payers={p.id: p for p in repos.payers.list()},
        participants=participants,
        users={u.id: u for u in repos.users.list(include_deleted=True)},
        consents=consents,
        encounters=encounters,
        codes=code_tables(),
    )


def problem_labels(problems: list[Problem], data: BillingData) -> dict[tuple[str, str], str]:
    """What each problem's record is, in words a person recognises (names appear
    here, for the screen only; the command line prints ids)."""
    enc = {e.id: e for e in data.encounters}
    out: dict[tuple[str, str], str] = {}
    for p in problems:
        key = (p.table, p.record_id)
        if key in out:
            continue
        if p.table == "participants" and p.record_id in data.participants:
            person = data.participants[p.record_id]
            out[key] = f"Participant: {person.last_name}, {person.first_name}"
        elif p.table == "users" and p.record_id in data.users:
            out[key] = f"Specialist: {data.users[p.record_id].display_name or 'no name'}"
        elif p.table == "payers" and p.record_id in data.payers:
            out[key] = f"Payer: {data.payers[p.record_id].name}"
        elif p.table == "billing_providers":
            out[key] = "Billing provider (agency) settings"
        elif p.table == "encounters" and p.record_id in enc:
            e = enc[p.record_id]
            person = data.participants.get(e.participant_id)
            who = f"{person.last_name}, {person.first_name}" if person else "unknown person"
            when = f"{day_text(e.service_date)} {clock_text(e.start_time)}".strip()
            out[key] = f"Service {when} · {who}"
        else:
            out[key] = f"{p.table} {p.record_id}"
    return out


# -- control numbers -----------------------------------------------------------------


def next_control(store: Store) -> int:
    """One more than the largest control number in this device's range
    (double_billing.control_range: its billing number, then a sequence) that any
    batch this vault knows has used, including voided ones and void claim files."""
    lo, hi = control_range(store)
    row = store.conn.execute(
        "SELECT max(interchange_control) FROM billing_batches "
        "WHERE interchange_control BETWEEN ? AND ?",
        (lo, hi),
    ).fetchone()
    last = int(store.meta(CONTROL_META, "0") or 0)
    top = max(int(row[0] or 0), last if lo <= last <= hi else 0, lo - 1)
    nxt = top + 1
    if nxt > hi:
        raise BillingRefused(
            "This laptop has used all of its interchange control numbers; ask the "
            "administrator to enrol it again for a new billing number."
        )
    return nxt


# -- export --------------------------------------------------------------------------

Progress = Callable[[str, int, int], None]  # what, steps done, steps in all


def preflight(store: Store, request: ExportRequest) -> tuple[Preflight, BillingData]:
    if request.period_from > request.period_to:
        raise BillingRefused("The period's first day is after its last day.")
    repos = Repositories(store)
    payer_id = find_payer(repos, request.payer_name).id if request.payer_name else None
    data = load_data(store, request.period_from, request.period_to)
    pf = run_preflight(
        data,
        request.period_from,
        request.period_to,
        request.today or date.today(),
        payer_id=payer_id,
    )
    return pf, data


def export(store: Store, request: ExportRequest, progress: Progress | None = None) -> ExportResult:
    """Check, then (unless stopped or a dry run) reserve on the server, write and mark
    billed. See the module.

    A real export runs in one write transaction from reading the services to marking
    them billed, so no other writer can change a service between the pre-flight
    check and the marking (the marking relies on that check and does not read the
    services again). Before any file is written, every batch's services are reserved
    on the sync server in one request (app.services.double_billing): a service in
    another live batch stops the export (AlreadyBilled); a server that cannot be
    reached lets it go on with a warning. A failure anywhere rolls it all back,
    removes every file this export wrote and gives the reservation back."""
    say = progress or (lambda _msg, _done=0, _total=0: None)
    refusal = billing_refusal(store)
    if refusal:
        raise BillingRefused(f"This vault cannot export claims: {refusal}.")
    if request.dry_run:
        say("checking", 0, 1)
        return _checked(store, request)[0]
    out = request.out_dir
    if out is not None and request.create_folder:
        try:
            Path(out).mkdir(parents=True, exist_ok=True)
        except OSError:
            raise BillingRefused("PeerTrail cannot make that folder; choose another.") from None
    if out is None or not Path(out).is_dir():
        raise BillingRefused("Choose an existing folder to write the files to.")
    if not os.access(out, os.W_OK):
        raise BillingRefused("PeerTrail cannot write into that folder; choose another.")
    written: list[Path] = []
    planned: list[PlannedBatch] = []
    pending: PendingReservation | None = None
    try:
        with store.page_cache(BULK_CACHE_MIB), store.transaction():
            say("checking", 0, 1)
            result, data = _checked(store, request)
            if result.outcome != "ready":
                return result
            by_payer: dict[str, list[ServiceLine]] = defaultdict(list)
            for ln in result.preflight.lines:
                by_payer[ln.payer_id].append(ln)
            planned = _plan(store, result.totals, by_payer)
            steps = 2 + len(planned)
            say("checking with the server", 1, steps)
            # The request runs while the files are rendered in memory; its answer
            # comes before any file is written.
            pending = PendingReservation(store, planned)
            rendered = [
                _render_batch(store, request, data, by_payer[p.payer_id], result.preflight, p)
                for p in planned
            ]
            check = pending.result()
            result.server_checked, result.warning = check.checked, check.warning
            result.round_trips, result.server_seconds = check.round_trips, check.seconds
            for i, r in enumerate(rendered):
                say(f"writing {r.payer.name}", 2 + i, steps)
                result.batches.append(
                    _write_batch(store, request, data, r, written, result.preflight)
                )
            say("done", steps, steps)
            result.outcome = "written"
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        if pending is not None and pending.reserved():
            release_on_server(store, [p.batch_id for p in planned], remember=True)
        raise
    return result


def _plan(
    store: Store, totals: list[PayerTotals], by_payer: dict[str, list[ServiceLine]]
) -> list[PlannedBatch]:
    """One batch per payer: its id, its interchange control number (from this
    device's range, double_billing.control_range) and its services."""
    first = next_control(store)
    _lo, hi = control_range(store)
    if first + len(totals) - 1 > hi:
        raise BillingRefused(
            "This laptop has used all of its interchange control numbers; ask the "
            "administrator to enrol it again for a new billing number."
        )
    return [
        PlannedBatch(
            batch_id=new_id(),
            control=first + i,
            payer_id=t.payer_id,
            encounter_ids=tuple(ln.encounter_id for ln in by_payer[t.payer_id]),
        )
        for i, t in enumerate(totals)
    ]


def _checked(store: Store, request: ExportRequest) -> tuple[ExportResult, BillingData]:
    """The pre-flight and the totals per payer; outcome "stopped", "nothing",
    "dry-run" or (a real export that can go on) "ready"."""
    pf, data = preflight(store, request)
    result = ExportResult(pf, "stopped", labels=problem_labels(pf.problems, data))
    if pf.stopped_everything or (pf.problems and not request.skip_invalid):
        return result, data
    by_payer: dict[str, list[ServiceLine]] = defaultdict(list)
    for ln in pf.lines:
        by_payer[ln.payer_id].append(ln)
    for pid in sorted(by_payer, key=lambda i: data.payers[i].name):
        lines = by_payer[pid]
        result.totals.append(
            PayerTotals(
                pid,
                data.payers[pid].name,
                len(lines),
                sum(ln.units for ln in lines),
                sum(ln.amount_cents for ln in lines),
            )
        )
    if not pf.lines:
        result.outcome = "nothing"
    elif request.dry_run:
        result.outcome = "dry-run"
    else:
        result.outcome = "ready"
    return result, data


def slug(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", value).strip("-")[:24] or "payer"


@dataclass(frozen=True)
class _Rendered:
    """One payer's batch, built in memory before the server has answered."""

    plan: PlannedBatch
    payer: Payer
    lines: list[ServiceLine]
    claims: list[Claim]
    files: BatchFiles
    now: datetime


def _render_batch(
    store: Store,
    request: ExportRequest,
    data: BillingData,
    lines: list[ServiceLine],
    pf: Preflight,
    plan: PlannedBatch,
) -> _Rendered:
    """One payer's claims and four files, in memory (nothing written yet)."""
    payer = data.payers[plan.payer_id]
    now = utcnow()
    dx = {pid: claim_diagnoses(p) for pid, p in data.participants.items()}
    claims: list[Claim] = build_claims(lines, payer, dx, f"{plan.control:09d}")
    files = _render_files(request, data, payer, claims, plan.batch_id, plan.control, now, store, pf)
    return _Rendered(plan, payer, lines, claims, files, now)


def _write_batch(
    store: Store,
    request: ExportRequest,
    data: BillingData,
    r: _Rendered,
    written: list[Path],
    pf: Preflight,
) -> WrittenBatch:
    """Write one payer's four files (added to ``written``), record the batch and mark
    its services billed, inside the export's transaction. ``pf``: the pre-flight
    that checked these records (its content hashes)."""
    repos = Repositories(store)
    control, batch_id, claims, files = r.plan.control, r.plan.batch_id, r.claims, r.files
    out_dir = Path(request.out_dir)  # type: ignore[arg-type]
    paths = []
    for name, blob in zip(files.names, files.blobs, strict=True):
        path = out_dir / name
        write_new_file(path, blob)
        written.append(path)
        paths.append(path)
    batch = BillingBatch(
        id=batch_id,
        payer_id=r.payer.id,
        period_from=request.period_from,
        period_to=request.period_to,
        interchange_control=control,
        files=files.names,
        file_hashes=tuple(hashlib.sha256(b).hexdigest() for b in files.blobs),
        encounter_ids=tuple(ln.encounter_id for ln in r.lines),
        claim_count=len(claims),
        line_count=sum(len(c.lines) for c in claims),  # a day-total rule joins lines
        unit_count=sum(c.units for c in claims),
        total_cents=sum(c.charge_cents for c in claims),
        created_by_id=store.user_id,
        created_at=r.now,
    )
    notes = {e.id: e for e in data.encounters}
    repos.billing_batches.add(batch)
    repos.encounters.mark_billed_many(
        [notes[i] for i in batch.encounter_ids],  # read and checked in this transaction
        batch_id,
        at=r.now,
        content_hashes=pf.content_hashes,
        files=list(files.names),
        interchange_control=control,
        payer_id=r.payer.id,
    )
    store.conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (CONTROL_META, str(control)),
    )
    return WrittenBatch(batch, r.payer.name, tuple(paths))


def _render_files(
    request: ExportRequest,
    data: BillingData,
    payer: Payer,
    claims: list[Claim],
    batch_id: str,
    control: int,
    now: datetime,
    store: Store,
    pf: Preflight,
) -> BatchFiles:
    """The batch's 837P, CSV and .xlsx worksheets and PDF summary, in memory. The
    summary lists the services the pre-flight held back and, for a re-bill, the
    voided batch it replaces."""
    provider = data.provider
    assert provider is not None  # pre-flight stops everything without one
    me = data.users.get(store.user_id)
    created_by = me.display_name or me.username if me else "unknown"
    return render_batch_files(
        stem=f"837P-{slug(payer.payer_id or payer.name)}-{control:09d}",
        batch_id=batch_id,
        control=control,
        created_at=now,
        created_by=created_by,
        period=(request.period_from, request.period_to),
        provider=provider,
        payer=payer,
        claims=claims,
        participants=data.participants,
        specialists=data.users,
        held_back=held_back_services(pf, data, payer.id),
        replaces=replaced_batch(
            batches(store), [s.encounter_id for c in claims for cl in c.lines for s in cl.services]
        ),
    )


def write_new_file(path: Path, blob: bytes) -> None:
    """Write a new file (never over an existing one), flushed to disk."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BillingRefused(
            f"{path.name} already exists in that folder; nothing was overwritten."
        ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as e:
        path.unlink(missing_ok=True)
        if e.errno == errno.ENOSPC:
            raise BillingRefused(
                "The disk is full; no billing files were kept and nothing was marked billed."
            ) from None
        raise BillingRefused(
            "The files could not be written to that folder; nothing was marked billed."
        ) from None


def export_with(
    repos: Repositories, request: ExportRequest, progress: Progress | None = None
) -> ExportResult:
    """:func:`export` for a caller holding the repositories (the desktop's context)."""
    return export(repos.store, request, progress)


def payer_names(repos: Repositories) -> list[str]:
    return sorted(p.name for p in repos.payers.list())


def batches(store: Store) -> list[BillingBatch]:
    return Repositories(store).billing_batches.list(order_by="interchange_control DESC")


def default_export_folder() -> Path:
    """Where the dialog offers to write billing files: the person's Documents folder,
    "PeerTrail billing" (made at the first export)."""
    return Path(platformdirs.user_documents_dir()) / "PeerTrail billing"
