"""Sync in the window: status bar, the Sync action, enrolment and the Conflicts page."""
