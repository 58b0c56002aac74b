"""An invented demo caseload: fills an empty vault with realistic, reproducible records.

``fill_demo(store, participants, years, seed, today)`` writes a caseload for the
vault's owner: a supervisor, payers and billing settings (an invented agency with
NPIs that pass the check digit), participants with goals, consents and BARC-10
scores, a few years of service notes at every life-cycle stage, hours, travel,
continuing education and monthly supervision, and the billing batches of the
months already billed (recent approved notes are left to export). Every person
is invented (first and last names from lists, combined at random; phone numbers
in the 555-01xx range kept for fiction; e-mail at example.com). Rates other than
Minnesota's published $15.02 per unit, and all payer ids, are invented too.

The same (participants, years, seed, today) always gives the same records and so
the same :func:`app.store.digest.state_digest` on a vault with the same owner: all
randomness comes from one ``random.Random(seed)``, ids are drawn from it, and all
dates and times are relative to ``today``. Only what the digest leaves out (the
outbox's stamps, the audit log) differs between runs.

All writes go through the repositories in one store transaction, and notes move
through their life cycle with the repositories' sign / return / addendum /
approve / mark-billed methods, so change capture and the audit log see the demo
the way they see a person's work.

With a realistic caseload (up to about 40 people) a day's visits fit in business
hours without overlapping. Larger caseloads are a volume test (300 people is
about 32 visits a working day for one specialist): once a day is full, further
visits start again in the morning and overlap earlier ones.
"""

from app.demo.base import _utc
from app.demo.base import claim_names
from app.demo.base import with_address
from app.demo.builder import _DemoBuilder
from app.demo.builder import fill_demo
from app.demo.words import AGENCY
from app.demo.words import FIRST_NAMES
from app.demo.words import LAST_NAMES

__all__ = [
    "AGENCY",
    "FIRST_NAMES",
    "LAST_NAMES",
    "_DemoBuilder",
    "_utc",
    "claim_names",
    "fill_demo",
    "with_address",
]
