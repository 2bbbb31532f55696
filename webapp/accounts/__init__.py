"""Accounts people trust: e-mail addresses, password change and reset, revocable sessions, the security log.

The package ``__init__`` imports nothing, so domain code never loads the views (``routes``).
"""
