"""A participant's record: profile, consents, goals, BARC-10, timeline."""
