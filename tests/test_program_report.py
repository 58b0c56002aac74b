"""The program report on a generated caseload in a real vault: every figure is
checked against an independent count written here over the raw rows (SQL and
simple loops, not the report's code path); small cells are suppressed and cannot
be worked out from a total; the files read back (PDF with pypdf, CSV, XLSX); a
specialist cannot see another caseload's figures; the command line writes all three."""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile
from collections import defaultdict
from datetime import date
from datetime import time
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from pypdf import PdfReader
from pypdf.generic import ContentStream

from app.demo_team import fill_demo_team
from app.domain.records import Goal
from app.domain.records import RecoveryDomain
from app.domain.records import Role
from app.domain.records import User
from app.reports import program as pr
from app.reports import suppression as sup
from app.services import program_report as svc
from app.store.db import Store
from app.store.repositories import Repositories
from app.store.vault import Vault
from tests.conftest import FAST_KDF
from tests.conftest import PASSPHRASE
from tests.helpers import run_cli

TODAY = date(2026, 11, 30)
YEAR = (date(2025, 12, 1), date(2026, 11, 30))


# -- a generated caseload -----------------------------------------------------------------


def _perturb(store: Store, seed: int) -> None:
    """Make the demo harder: tombstones of every kind, people with no program, county
    or date of birth, tribal affiliations typed differently, discharges in the year,
    notes at every status and overlapping notes, a payer with a daily cap, and a note
    for another specialist's person."""
    rng = random.Random(seed)
    q = store.conn.execute
    with store.transaction(mode="remote"):
        for table in ("participants", "encounters", "goals", "barc10", "time_entries",
                      "supervision_sessions"):  # fmt: skip
            ids = [r[0] for r in q(f"SELECT id FROM {table} WHERE deleted = 0 ORDER BY id")]
            for rid in rng.sample(ids, max(1, len(ids) // 25)):
                q(f"UPDATE {table} SET deleted = 1 WHERE id = ?", (rid,))
        people = [r[0] for r in q("SELECT id FROM participants WHERE deleted = 0 ORDER BY id")]
        for pid in rng.sample(people, 4):
            q("UPDATE participants SET program = '', county = '', date_of_birth = NULL "
              "WHERE id = ?", (pid,))  # fmt: skip
        spellings = ("Spirit Lake Nation", "spirit lake  nation", " SPIRIT LAKE NATION ")
        for i, pid in enumerate(rng.sample(people, 9)):
            q("UPDATE participants SET tribal_affiliation = ? WHERE id = ?",
              (spellings[i % 3], pid))  # fmt: skip
        for pid in rng.sample(people, 6):
            day = YEAR[0] + timedelta(days=rng.randrange(365))
            q("UPDATE participants SET discharge_date = ?, status = 'discharged' WHERE id = ?",
              (day.isoformat(), pid))  # fmt: skip
        for pid in rng.sample(people, 3):
            q("UPDATE participants SET date_of_birth = ? WHERE id = ?",
              (date(2010, 5, 1).isoformat(), pid))  # fmt: skip
        notes = [r[0] for r in q(
            "SELECT id FROM encounters WHERE deleted = 0 AND service_date >= ? ORDER BY id",
            (YEAR[0].isoformat(),))]  # fmt: skip
        for nid in rng.sample(notes, len(notes) // 10):
            q("UPDATE encounters SET status = ? WHERE id = ?",
              (rng.choice(("draft", "returned", "void", "signed", "billed")), nid))  # fmt: skip
        for nid in rng.sample(notes, 20):  # overlap another note of the same day
            q("UPDATE encounters SET start_time = '10:00', end_time = '10:50' WHERE id = ?",
              (nid,))  # fmt: skip
        q("UPDATE payers SET max_units_per_day = 3 WHERE id = (SELECT min(id) FROM payers)")
        q("UPDATE payers SET rounding_rule = 'any-part-of-unit' "
          "WHERE id = (SELECT max(id) FROM payers)")  # fmt: skip


@pytest.fixture(scope="module")
def team_vault(tmp_path_factory):
    """A supervisor's vault with four specialists and a year of work (seeded)."""
    import app.store.vault as vault_mod

    old = vault_mod.DEFAULT_KDF
    vault_mod.DEFAULT_KDF = FAST_KDF
    try:
        v = Vault(tmp_path_factory.mktemp("report") / "vault")
        v.create(PASSPHRASE)
    finally:
        vault_mod.DEFAULT_KDF = old
    s = Store.open(v)
    fill_demo_team(s, specialists=4, participants=14, seed=5, today=TODAY)
    _perturb(s, 5)
    yield v, s
    s.close()


@pytest.fixture
def repos(team_vault) -> Repositories:
    return Repositories(team_vault[1])


# -- the independent count ----------------------------------------------------------------


def _program(raw: str | None) -> str:
    return (raw or "").strip() or "No program"


def _units_rule(rule: str, unit: int, minutes: int) -> int:
    whole = minutes // unit
    rest = minutes - whole * unit
    need = {"cms-8-minute": unit // 2 + 1, "whole-units-only": unit}.get(rule, 1)
    return whole + (1 if rest >= need else 0)


def _mins(start: str | None, end: str | None) -> int:
    if not start or not end:
        return 0
    h1, m1 = map(int, start[:5].split(":"))
    h2, m2 = map(int, end[:5].split(":"))
    return max(0, h2 * 60 + m2 - h1 * 60 - m1)


def independent(conn, first: date, last: date, program: str | None, spec: str | None) -> dict:
    """Every figure of the report, counted straight from the vault's tables."""
    a, b = first.isoformat(), last.isoformat()
    people = {r[0]: r for r in conn.execute(
        "SELECT id, program, county, tribal_affiliation, date_of_birth, intake_date, "
        "discharge_date, assigned_specialist_id FROM participants WHERE deleted = 0")}  # fmt: skip
    payers = {r[0]: r for r in conn.execute(
        "SELECT id, name, rounding_rule, unit_minutes, max_units_per_day FROM payers "
        "WHERE deleted = 0")}  # fmt: skip
    names = dict(conn.execute("SELECT id, name FROM payers"))
    counted = conn.execute(
        "SELECT id, participant_id, specialist_id, service_date, start_time, end_time, payer_id, "
        "service_code, modality, place_of_service FROM encounters WHERE deleted = 0 "
        "AND status IN ('signed', 'approved', 'billed') AND service_date BETWEEN ? AND ? "
        "ORDER BY id", (a, b)).fetchall()  # fmt: skip
    # units: each person's day per payer, in id order, with the payer's cap
    units: dict[str, int] = {}
    left: dict[tuple, int] = {}
    for r in counted:
        if not r[7]:
            continue
        p = payers.get(r[6])
        rule, unit, cap = (p[2], p[3], p[4]) if p else ("cms-8-minute", 15, 0)
        u = _units_rule(rule, unit, _mins(r[4], r[5]))
        if cap:
            key = (r[1], r[3], r[6])
            left.setdefault(key, cap)
            u = min(u, left[key])
            left[key] -= u
        units[r[0]] = u
    mine = [
        r for r in counted
        if r[1] in people and (spec is None or r[2] == spec)
        and (program is None or _program(people[r[1]][1]) == program)
    ]  # fmt: skip
    out: dict = {"services": len(mine), "units": sum(units.get(r[0], 0) for r in mine)}
    served = {r[1] for r in mine}
    out["people_served"] = len(served)
    for key, prog_fn in (
        ("by_program", lambda r: _program(people[r[1]][1])),
        ("by_payer", lambda r: names.get(r[6], "No payer")),
        ("by_modality", lambda r: r[8].capitalize()),
        ("by_place", lambda r: r[9]),
    ):
        d: dict = defaultdict(lambda: [0, 0])
        for r in mine:
            d[prog_fn(r)][0] += 1
            d[prog_fn(r)][1] += units.get(r[0], 0)
        out[key] = {k: tuple(v) for k, v in d.items()}
    covered: dict[tuple, set] = defaultdict(set)  # minutes of the day a specialist served
    for r in mine:
        if r[4] and r[5]:
            h, m = map(int, r[4][:5].split(":"))
            covered[(r[2], r[3])].update(range(h * 60 + m, h * 60 + m + _mins(r[4], r[5])))
    out["direct_minutes"] = sum(len(s) for s in covered.values())
    in_scope = [
        p for p in people.values()
        if (spec is None or p[7] == spec) and (program is None or _program(p[1]) == program)
    ]  # fmt: skip
    out["new"] = sum(1 for p in in_scope if p[5] and a <= p[5] <= b)
    out["closed"] = sum(1 for p in in_scope if p[6] and a <= p[6] <= b)
    note_program = {
        r[0]: _program(people[r[1]][1]) if r[1] in people else None  # a deleted person's
        for r in conn.execute("SELECT id, participant_id FROM encounters WHERE deleted = 0")
    }
    tm, miles = 0, 0.0
    for r in conn.execute(
        "SELECT specialist_id, minutes, miles, encounter_id FROM time_entries WHERE deleted = 0 "
        "AND category = 'travel' AND entry_date BETWEEN ? AND ?", (a, b)):  # fmt: skip
        if (spec is None or r[0] == spec) and (
            program is None or note_program.get(r[3]) == program
        ):
            tm += r[1]
            miles += r[2]
    out["travel_minutes"], out["miles"] = tm, round(miles, 1)
    sessions = minutes = received = 0
    for _sid, mins, who in conn.execute(
        "SELECT id, minutes, specialist_ids FROM supervision_sessions WHERE deleted = 0 AND "
        "supervisor_signed_at IS NOT NULL AND session_date BETWEEN ? AND ?", (a, b)):  # fmt: skip
        there = {w for w in json.loads(who) if spec is None or w == spec}
        if there:
            sessions, minutes, received = sessions + 1, minutes + mins, received + mins * len(there)
    out["supervision"] = (sessions, minutes, received)
    ages: dict = defaultdict(int)
    counties: dict = defaultdict(int)
    progs: dict = defaultdict(int)
    tribes: dict = defaultdict(int)
    for pid in served:
        p = people[pid]
        if p[4] and date.fromisoformat(p[4]) <= last:
            born = date.fromisoformat(p[4])
            age = (
                last.year
                - born.year
                - (1 if (last.month, last.day) < (born.month, born.day) else 0)
            )
            band = ("Under 18" if age < 18 else "18-24" if age < 25 else "25-34" if age < 35
                    else "35-44" if age < 45 else "45-54" if age < 55 else "55-64" if age < 65
                    else "65 and over")  # fmt: skip
        else:
            band = "Not recorded"
        ages[band] += 1
        counties[(p[2] or "").strip() or "Not recorded"] += 1
        progs[_program(p[1])] += 1
        tribes[" ".join((p[3] or "").lower().split())] += 1
    out["ages"], out["counties"], out["programs"], out["tribes"] = ages, counties, progs, tribes
    goal_set: dict = defaultdict(int)
    goal_done: dict = defaultdict(int)
    for pid, domain, status, started, achieved in conn.execute(
        "SELECT participant_id, domain, status, started_on, achieved_on FROM goals "
        "WHERE deleted = 0"):  # fmt: skip
        if pid in served:
            goal_set[domain] += bool(started and a <= started <= b)
            goal_done[domain] += bool(status == "achieved" and achieved and a <= achieved <= b)
    out["goals"] = {
        d: (goal_set[d], goal_done[d]) for d in ("Health", "Home", "Purpose", "Community")
    }
    scores: dict = defaultdict(list)
    for _rid, pid, _day, raw in conn.execute(
        "SELECT id, participant_id, assessed_on, scores FROM barc10 WHERE deleted = 0 "
        "AND assessed_on <= ? ORDER BY assessed_on, id", (b,)):  # fmt: skip
        if pid in served:
            scores[pid].append(sum(json.loads(raw)))
    pairs = [(s[0], s[-1]) for s in scores.values() if len(s) >= 2]
    out["barc_n"] = len(pairs)
    out["barc_first"] = sum(p[0] for p in pairs) / len(pairs) if pairs else None
    out["barc_latest"] = sum(p[1] for p in pairs) / len(pairs) if pairs else None
    return out


def _check(report: pr.ProgramReport, want: dict) -> None:
    assert report.services == want["services"]
    assert report.units == want["units"]
    assert report.people_served == want["people_served"]
    assert report.new_enrolments == want["new"]
    assert report.closed_enrolments == want["closed"]
    assert {ln.label: (ln.services, ln.units) for ln in report.by_program} == want["by_program"]
    assert {ln.label: (ln.services, ln.units) for ln in report.by_payer} == want["by_payer"]
    assert {ln.label: (ln.services, ln.units) for ln in report.by_modality} == want["by_modality"]
    assert {ln.label.split(" ")[0]: (ln.services, ln.units) for ln in report.by_place} == want[
        "by_place"
    ]
    assert report.direct_minutes == want["direct_minutes"]
    assert report.travel_minutes == want["travel_minutes"]
    assert report.miles == pytest.approx(want["miles"], abs=0.05)
    assert (
        report.supervision_sessions,
        report.supervision_minutes,
        report.supervision_received_minutes,
    ) == want["supervision"]
    ages, counties, tribes, progs = report.demographics
    for table, expected in ((ages, want["ages"]), (counties, want["counties"]),
                            (progs, want["programs"])):  # fmt: skip
        assert table.total == want["people_served"]
        if not table.withheld:
            assert {c.label: c.count for c in table.cells} == dict(expected)
    if not tribes.withheld:
        got = {pr.tribe_key(c.label) if c.label != "None reported" else "": c.count
               for c in tribes.cells}  # fmt: skip
        assert got == dict(want["tribes"])
    assert {g.domain: (g.set, g.achieved) for g in report.goals} == want["goals"]
    assert report.barc.n == want["barc_n"]
    if want["barc_n"]:
        assert report.barc.mean_first == pytest.approx(want["barc_first"])
        assert report.barc.mean_latest == pytest.approx(want["barc_latest"])
        assert report.barc.mean_change == pytest.approx(want["barc_latest"] - want["barc_first"])


def _specialists(conn) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT id FROM users WHERE role = 'specialist' AND deleted = 0 ORDER BY id"
        )
    ]


def test_every_figure_matches_an_independent_count(repos):
    conn = repos.store.conn
    report = svc.program_report(repos, *YEAR)
    want = independent(conn, *YEAR, None, None)
    _check(report, want)
    # the generated caseload exercises what the rules are about
    assert report.services > 500 and report.people_served > 30
    assert want["closed"] > 0 and want["direct_minutes"] > 0 and want["miles"] > 0
    assert want["barc_n"] >= 11 and any(s for s, _ in want["goals"].values())
    assert "No program" in want["programs"] and "Not recorded" in want["ages"]
    assert want["tribes"]["spirit lake nation"] >= 3


def test_every_figure_matches_for_programs_specialists_and_periods(repos):
    conn = repos.store.conn
    specs = _specialists(conn)
    programs = svc.options(repos).programs
    assert len(programs) >= 3 and len(specs) == 4
    periods = [YEAR, (date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 6, 15), date(2026, 9, 2))]
    for first, last in periods:
        for program in (None, *programs):
            for spec in (None, *specs):
                report = svc.program_report(repos, first, last, program, spec)
                _check(report, independent(conn, first, last, program, spec))


def test_deleted_records_never_count(repos):
    conn = repos.store.conn
    deleted_notes = {r[0] for r in conn.execute(
        "SELECT id FROM encounters WHERE deleted = 1 AND status IN ('signed','approved','billed') "
        "AND service_date BETWEEN ? AND ?", tuple(d.isoformat() for d in YEAR))}  # fmt: skip
    assert deleted_notes, "the generated caseload has tombstoned services"
    rows = svc.read_rows(repos, *YEAR)
    assert not deleted_notes & {s.id for s in rows.services}
    deleted_people = {r[0] for r in conn.execute("SELECT id FROM participants WHERE deleted = 1")}
    report = svc.program_report(repos, *YEAR)
    served = {s.participant_id for s in pr.counted_services(
        rows, report.choice, {p.id: p for p in rows.people})}  # fmt: skip
    assert deleted_people and not deleted_people & served


# -- suppression ----------------------------------------------------------------------


def _possible(shown: list[str], total: int) -> list[set[int]]:
    """Every value each cell can hold for a reader who knows the total, the shown cells
    and the rule: "<11" holds 1..10, "*" holds 0 or 11..total (exact, by subset sums)."""
    hidden_sum = total - sum(int(s) for s in shown if s not in (sup.SMALL, sup.HIDDEN))
    domains = [
        set(range(1, 11)) if s == sup.SMALL
        else {0, *range(11, total + 1)} if s == sup.HIDDEN
        else {int(s)}
        for s in shown
    ]  # fmt: skip
    hidden = [i for i, s in enumerate(shown) if s in (sup.SMALL, sup.HIDDEN)]
    out = []
    for i, dom in enumerate(domains):
        if i not in hidden:
            out.append(dom)
            continue
        sums = 1  # bit k set: the other hidden cells can add up to k
        for j in hidden:
            if j != i:
                sums = sum_masks(sums, domains[j], hidden_sum)
        out.append({v for v in dom if hidden_sum - v >= 0 and sums >> (hidden_sum - v) & 1})
    return out


def sum_masks(mask: int, values: set[int], limit: int) -> int:
    out = 0
    for v in values:
        if v <= limit:
            out |= mask << v
    return out & ((1 << (limit + 1)) - 1)


def test_suppression_examples():
    assert sup.suppress([3, 50], 53) == ["<11", "*"]
    assert sup.suppress([3, 4, 50], 57) == ["<11", "<11", "*"]  # 3 + 4 = 7 is itself small
    assert sup.suppress([1, 11], 12) == []  # "*" >= 11 would pin "<11" to 1
    assert sup.suppress([1, 12, 30], 43) == ["<11", "*", "30"]
    assert sup.suppress([12, 15], 27) == ["12", "15"]
    assert sup.suppress([5, 20, 30], 55) == ["<11", "*", "30"]
    assert sup.suppress([9, 10, 12], 31) == ["<11", "<11", "12"]
    assert sup.suppress([10, 10], 20) == []  # both would be 10: not broken down
    t = pr.people_table("County", {"Cass": 4, "Ward": 3})
    assert t.withheld and t.cells == () and t.total_shown == "<11"
    t = pr.people_table("County", {"Cass": 40, "Ward": 3, "Stark": 0})
    assert [c.shown for c in t.cells] == ["*", "0", "<11"] or [c.shown for c in t.cells] == [
        "*", "<11", "0"][: len(t.cells)]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=7))
def test_no_small_cell_can_be_worked_out_from_the_total(counts):
    total = sum(counts)
    shown = sup.suppress(counts, total)
    if not shown:
        return  # the table is not broken down at all
    for c, s in zip(counts, shown, strict=True):
        if 1 <= c <= 10:
            assert s == sup.SMALL
        elif s not in (sup.SMALL, sup.HIDDEN):
            assert int(s) == c
    hidden = [c for c, s in zip(counts, shown, strict=True) if s in (sup.SMALL, sup.HIDDEN)]
    if hidden:
        assert len(hidden) >= 2 and sum(hidden) >= 11  # their sum is not a small count
    for c, values, s in zip(counts, _possible(shown, total), shown, strict=True):
        assert c in values
        if s in (sup.SMALL, sup.HIDDEN):
            assert len(values) >= 2, (counts, shown)  # a hidden cell is never pinned down


def test_small_cells_are_hidden_in_the_report_and_files(repos, tmp_path):
    report = svc.program_report(repos, *YEAR)
    small = [c for t in report.demographics for c in t.cells if 1 <= c.count <= 10]
    assert small, "the caseload has small cells"
    assert all(c.shown == sup.SMALL for c in small)
    for t in report.demographics:
        if not t.withheld:
            hidden = [i for i, c in enumerate(t.cells) if c.shown in (sup.SMALL, sup.HIDDEN)]
            assert not hidden or len(hidden) >= 2
            possible = _possible([c.shown for c in t.cells], t.total)
            assert all(len(v) >= 2 for v, c in zip(possible, t.cells, strict=True)
                       if c.shown in (sup.SMALL, sup.HIDDEN))  # fmt: skip
    path = svc.write_report(repos, report, tmp_path / "r.csv")
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    demo_titles = {t.title for t in report.demographics}
    for section, item, _m, value in rows[1:]:
        if section in demo_titles and item != "Total":
            assert value in (sup.SMALL, sup.HIDDEN, "0") or int(value) >= 11


def test_a_small_specialist_caseload_is_not_broken_down(repos):
    spec = _specialists(repos.store.conn)[0]
    r = svc.program_report(repos, date(2026, 11, 1), date(2026, 11, 7), None, spec)
    assert 0 < r.people_served < 11
    assert all(t.withheld and t.total_shown == sup.SMALL for t in r.demographics)
    assert r.barc.n < 11
    assert r.barc.shown in {("0", "", "", ""), (sup.SMALL, sup.HIDDEN, sup.HIDDEN, sup.HIDDEN)}
    assert pr.BarcChange(11, 20.0, 25.5, 5.5).shown == ("11", "20.0", "25.5", "+5.5")


# -- files ---------------------------------------------------------------------------


def _teal_bars(reader: PdfReader, page) -> int:
    """Rectangles filled with the charts' teal (#1f6f78) on a page."""
    fill, n = None, 0
    for operands, op in ContentStream(page.get_contents(), reader).operations:
        if op == b"rg":
            fill = tuple(round(float(x) * 255) for x in operands)
        elif op == b"re" and fill == (0x1F, 0x6F, 0x78):
            n += 1
    return n


def test_pdf_csv_and_xlsx_read_back(repos, tmp_path):
    report = svc.program_report(repos, *YEAR)
    pdf = svc.write_report(repos, report, tmp_path / "report.pdf")
    reader = PdfReader(str(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert reader.metadata.title.startswith("Program report")
    for needle in ("Program report", "People served", str(report.people_served),
                   str(report.services), str(report.units), "Services by program",
                   "Units by payer", "Goals achieved by life area", "BARC-10", "<11",
                   "cell-size rule"):  # fmt: skip
        assert needle in text, needle
    for ln in report.by_program:
        assert ln.label in text
    # the charts are vector drawings: one teal rectangle per bar (tables are grey)
    bars = [_teal_bars(reader, page) for page in reader.pages]
    assert bars[0] == len(report.by_program) + len(report.by_payer), bars
    assert sum(bars) == bars[0] + sum(1 for g in report.goals if g.achieved)
    names = {r[0] for r in repos.store.conn.execute("SELECT last_name FROM participants")}
    assert not any(n in text for n in names if len(n) > 4)
    csv_path = svc.write_report(repos, report, tmp_path / "report.csv")
    rows = list(csv.reader(io.StringIO(csv_path.read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["Section", "Item", "Measure", "Value"]
    assert [tuple(r) for r in rows[1:]] == pr.table_rows(report)
    xlsx = svc.write_report(repos, report, tmp_path / "report.xlsx")
    with zipfile.ZipFile(xlsx) as z:
        strings = z.read("xl/sharedStrings.xml").decode()
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert "People served (unduplicated)" in strings and "&lt;11" in strings
    assert f"<v>{report.services}</v>" in sheet
    with pytest.raises(svc.StoreError):
        svc.write_report(repos, report, tmp_path / "report.txt")
    actions = [r[0] for r in repos.store.conn.execute(
        "SELECT action FROM audit_log WHERE detail LIKE '%program report%'")]  # fmt: skip
    assert "view" in actions and actions.count("export") >= 3


# -- who may see what ----------------------------------------------------------------


def _set_role(store: Store, user_id: str, role: str) -> None:
    with store.transaction(mode="remote"):
        store.conn.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))


def _as(repos: Repositories, user_id: str, role: Role) -> tuple[Repositories, str]:
    """The same vault read as another user (a laptop signed in as them)."""
    store = repos.store
    _set_role(store, user_id, role.value)
    original = store.user_id
    store.user_id = user_id
    return Repositories(store), original


def test_a_specialist_sees_only_their_own_caseload(repos):
    conn = repos.store.conn
    own, other = _specialists(conn)[:2]
    as_spec, original = _as(repos, own, Role.SPECIALIST)
    try:
        with pytest.raises(svc.NotYours):
            svc.program_report(as_spec, *YEAR, None, other)
        with pytest.raises(svc.NotYours):
            svc.find_specialist(as_spec, conn.execute(
                "SELECT display_name FROM users WHERE id = ?", (other,)).fetchone()[0])  # fmt: skip
        opts = svc.options(as_spec)
        assert opts.specialists == ((own, opts.specialists[0][1]),) and not opts.whole_vault
        mine = svc.program_report(as_spec, *YEAR)  # "the whole vault" is their own caseload
        assert mine.choice.specialist_ids == frozenset({own})
        _check(mine, independent(conn, *YEAR, None, own))
        assert mine.services < independent(conn, *YEAR, None, None)["services"]
    finally:
        repos.store.user_id = original
        _set_role(repos.store, own, "specialist")


def test_billing_and_admin_see_the_agency(repos):
    conn = repos.store.conn
    billing = conn.execute(
        "SELECT id FROM users WHERE role = 'specialist' AND deleted = 0 ORDER BY id DESC"
    ).fetchone()[0]
    for role in (Role.BILLING, Role.ADMIN):
        as_other, original = _as(repos, billing, role)
        try:
            opts = svc.options(as_other)
            assert opts.whole_vault and len(opts.specialists) == 3
            assert svc.program_report(as_other, *YEAR).services == independent(
                conn, *YEAR, None, None)["services"]  # fmt: skip
        finally:
            repos.store.user_id = original
            _set_role(repos.store, billing, "specialist")


def test_a_supervisor_cannot_report_on_someone_outside_the_team(repos):
    with pytest.raises(svc.StoreError):
        svc.program_report(repos, *YEAR, None, "not-a-user")
    outsider = User(username="other-team-1", display_name="Vokelo Marandi", supervisor_id="")
    repos.users.add(outsider)  # a specialist in the vault, supervised by someone else
    try:
        assert outsider.id not in {i for i, _n in svc.options(repos).specialists}
        with pytest.raises(svc.StoreError, match="not on your team"):
            svc.program_report(repos, *YEAR, None, outsider.id)
        with pytest.raises(svc.StoreError):
            svc.find_specialist(repos, "Vokelo Marandi")
    finally:
        repos.users.delete(outsider.id)


# -- the command line ------------------------------------------------------------------


def test_command_line_writes_the_three_files(team_vault, tmp_path):
    v, store = team_vault
    env = {"PEERTRAIL_PASSPHRASE": PASSPHRASE}
    name = store.conn.execute(
        "SELECT display_name FROM users WHERE role = 'specialist' AND deleted = 0 ORDER BY id"
    ).fetchone()[0]
    out = [tmp_path / f"r.{k}" for k in ("pdf", "csv", "xlsx")]
    res = run_cli("report", "--data-dir", str(v.dir), "--from", "2025-12-01", "--to",
                  "2026-11-30", "--specialist", name, "--pdf", str(out[0]), "--csv",
                  str(out[1]), "--xlsx", str(out[2]), env=env)  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert all(p.exists() and p.stat().st_size > 0 for p in out)
    assert "People served" in res.stdout
    rows = list(csv.reader(io.StringIO(out[1].read_text(encoding="utf-8-sig"))))
    assert ["Report", "Scope", "", f"Specialist: {name}"] in rows
    bad = run_cli("report", "--data-dir", str(v.dir), "--from", "2026-02-01", "--to",
                  "2026-01-01", "--csv", str(out[1]), env=env)  # fmt: skip
    assert bad.returncode == 2
    nobody = run_cli("report", "--data-dir", str(v.dir), "--from", "2026-01-01", "--to",
                     "2026-02-01", "--specialist", "Nobody Here", "--csv", str(out[1]),
                     env=env)  # fmt: skip
    assert nobody.returncode == 2 and "No specialist" in nobody.stderr
    none = run_cli("report", "--data-dir", str(v.dir), "--from", "2026-01-01", "--to",
                   "2026-02-01", env=env)  # fmt: skip
    assert none.returncode == 2 and "--pdf" in none.stderr


def test_a_merged_person_is_counted_once_with_all_their_services(tmp_path):
    """Two records of one person merged by a supervisor (app.services.duplicates):
    one person served, every service of both records counted."""
    from app.services import duplicates
    from tests.builders import add_encounter
    from tests.helpers import add_person

    v = Vault(tmp_path / "vault")
    v.create(PASSPHRASE, FAST_KDF)
    store = Store.open(v)
    try:
        repos = Repositories(store)
        _set_role(store, store.user_id, Role.ADMIN.value)
        me = repos.users.require(store.user_id)
        day = date(2026, 5, 4)
        people = [add_person(repos, first, "Oyelaran") for first in ("Wendeline", "Wendy")]
        for p, hour in zip(people, (9, 13), strict=True):
            goal = repos.goals.add(
                Goal(participant_id=p.id, domain=RecoveryDomain.HOME, statement="A home")
            )
            note = add_encounter(repos, p, goal, me, on=day, at=(time(hour), time(hour, 45)))
            repos.encounters.sign(note.id, me)
        before = svc.program_report(repos, *YEAR)
        assert (before.people_served, before.services) == (2, 2)
        duplicates.merge(repos, people[0].id, people[1].id)
        after = svc.program_report(repos, *YEAR)
        assert (after.people_served, after.services) == (1, 2)
        assert after.direct_minutes == before.direct_minutes == 90
    finally:
        store.close()
