"""Comments on a task, with @mentions (``model``: pure; ``service``: stored and announced; ``notices``: who hears
of one; ``routes`` and ``forms``: the task page's)."""
