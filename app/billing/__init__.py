"""Medicaid billing export: pre-flight checks, claims, the X12 837P file, the CSV
worksheet, the PDF summary and export batches. No Qt; only service.py touches
the store (through the repositories), the other modules are pure."""
