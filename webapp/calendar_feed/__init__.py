"""The calendar feed: an iCalendar document of my tasks with due dates at a secret URL (``GET /calendar/<secret>.ics``)."""
