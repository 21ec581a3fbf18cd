"""Entry point for `flask` and WSGI servers: `gunicorn app:app`."""

from judging import create_app

app = create_app()
