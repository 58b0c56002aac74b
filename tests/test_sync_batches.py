"""Big outboxes go in several bounded requests without splitting a record."""

from __future__ import annotations

from datetime import date

from app.domain.records import Participant
from tests.sync_harness import World


def test_a_record_is_never_split_between_requests(tmp_path):
    w = World(tmp_path)
    try:
        w.add_user("u-a", "ann", "specialist")
        a, b = w.add_device("a", "u-a", "specialist"), w.add_device("b", "u-a", "specialist")
        people = [
            Participant(
                first_name=f"Sten{i}", last_name="Batch", date_of_birth=date(1990, 1, 1),
                medicaid_id=f"{300000000 + i}", county="Cass", assigned_specialist_id="u-a",
            )
            for i in range(120)
        ]  # fmt: skip
        a.repos.participants.add_many(people)
        per_record = a.replica.pending_count() // len(people)
        sizes = []
        while a.replica.pending_count():
            batch = a.replica.pending(100)  # not a multiple of a record's changes
            assert batch and len(batch) % per_record == 0
            sizes.append(len(batch))
            req = w.request(a, changes=batch)
            resp = w.serve(a, req)
            assert resp.rejected == []
            a.replica.apply_response(resp)
        assert len(sizes) > 5
        w.settle(2)
        assert {p.id: p for p in b.repos.participants.list()} == {p.id: p for p in people}
    finally:
        w.close()
