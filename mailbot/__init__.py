"""mailbot: an email-driven complaints intake bot for UK care and support organisations."""
