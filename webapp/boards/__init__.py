"""Boards: shared task boards with members and roles (owner, editor, viewer), and their pages."""
