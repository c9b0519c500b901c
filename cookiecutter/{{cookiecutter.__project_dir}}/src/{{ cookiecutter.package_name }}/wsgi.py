"""WSGI entry point: `<package>.wsgi:app` for gunicorn, uWSGI, mod_wsgi and `flask run`."""

from . import create_app

app = create_app()
