"""The note editor: write, time, sign and amend a service note."""
