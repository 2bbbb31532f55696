"""Tasks: the field declaration, the model, its storage and the pages (the blueprint is ``routes.bp``)."""
