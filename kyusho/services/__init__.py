"""Services: the only way screens and the CLI read or change data.

Each writing service runs in one short IMMEDIATE transaction, checks the acting user's role
itself (never trusting the UI to hide a button), recomputes the projections its write can
change, and appends an audit event.
"""
