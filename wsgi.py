"""WSGI entry point of the web app (its factory: webapp/app.py): `gunicorn -c gunicorn.conf.py wsgi:app`.

notification-service is served from its own factory (webapp/notification_service), which never imports this module:
`gunicorn -c gunicorn.conf.py 'webapp.notification_service:create_app()'`.
"""

from webapp.app import create_app

app = create_app()
