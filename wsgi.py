"""WSGI entry point of the web app: `gunicorn -c gunicorn.conf.py wsgi:app`.

notification-service is served from its own factory:
`gunicorn -c gunicorn.conf.py 'webapp.notifier:create_app()'`.
"""

from webapp.app import create_app

app = create_app()
