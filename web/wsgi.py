"""The WSGI app for gunicorn: ``gunicorn -w 4 'web.wsgi:app'`` (DATABASE_URL set)."""

from fangfan.service import Fangfan

from . import create_app

app = create_app(Fangfan())
