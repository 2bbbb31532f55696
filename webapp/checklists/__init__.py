"""The task page's checklist forms (the items and their changes: ``webapp/tasks/checklist.py``)."""
