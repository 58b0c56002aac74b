"""What several screens share: read-only tables and their model base, form
fields, the passphrase dialog and small charts."""
