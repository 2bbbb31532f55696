"""Accounts: register, log in, log out, settings, API tokens (the blueprint is ``routes.bp``)."""
