"""Accounts people trust: e-mail addresses, password change and reset, revocable sessions, the security log, a
second factor (TOTP), single sign-on (OpenID Connect), deleting an account and exporting its data.

Importing the package loads nothing, so domain code never loads the views (``routes``, ``*_views``).
"""
