"""Comments on a task, with @mentions (``model``: pure; ``store``: state; ``notices``: who hears; ``routes``)."""
