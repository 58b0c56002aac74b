"""The application layer: every operation the desktop screens and the command line
perform, named by what it does (vaults, demos, enrolment, caseload, records,
importing, notes, hours, team, review, supervision, reports, billing, conflicts,
syncing). No Qt here. Reads and writes take the repositories (or the store) first
and run on the database thread; each write returns what it changed
(:class:`app.services.changes.Done`), which the UI's context broadcasts.
"""
