"""The caseload list, the add/edit participant form and CSV import."""
