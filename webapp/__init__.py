"""Taskboard: a web app and notification-service, two Flask apps on one small shared base.

Importing this package imports nothing else, so each app loads only what it uses:

    base, config, dapr_gateway, sidecar,    the shared base: a Flask app with config, logging,
    observability, health, metrics,         trace context, metrics, the Dapr gateway, health
    app_token, events                       routes, the app-token check of inbound calls
    app (wsgi.py)                           the web app (app-id ``taskboard``): pages, API,
                                            sign-in, CSRF
    background                              the web app's work without a request: event handlers,
                                            jobs, periodic bindings and their inbound Dapr routes,
                                            listed in one registry
    notification_service                    notification-service: ``POST /notify`` only
"""
