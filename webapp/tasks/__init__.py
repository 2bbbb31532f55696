"""Tasks: the field declaration, the model, its storage, its board's index and its events' outbox, and the changes.

The pages of tasks are in ``boards/task_routes.py``: every task is on a board.
"""
