"""Boards: shared task boards with members and roles (owner, editor, viewer), who follows a task, and the pages.

The pages of boards (``routes.bp``) and of the tasks on them (``task_routes.bp``).
"""
