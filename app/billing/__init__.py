"""Medicaid billing: pre-flight checks, claims, the X12 837P file, the CSV
worksheet and the PDF summary. Pure and Qt-free; the export that reads the vault,
writes the files and marks services billed is app.services.billing."""
