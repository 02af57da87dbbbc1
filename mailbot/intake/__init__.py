"""Intake: fetching mail from IMAP, parsing it, and storing what it carries."""
