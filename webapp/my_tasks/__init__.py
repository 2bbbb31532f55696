"""My tasks: what is mine across every board I am on (``GET /my``)."""
