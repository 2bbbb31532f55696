"""Account self-service: a second factor (TOTP), single sign-on (OpenID Connect), deleting an account and
exporting its data. Importing the package loads nothing; views are in the ``*_views`` modules."""
