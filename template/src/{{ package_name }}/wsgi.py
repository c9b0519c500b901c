"""WSGI entry point: `<package>.wsgi:app` for gunicorn, uWSGI, mod_wsgi and `flask run`."""

import sys

from . import create_app
from .config import ConfigError

try:
    app = create_app()
except ConfigError as error:
    # A setting to fix deserves one line, not a traceback from every worker. Exit
    # status 3 is gunicorn's "worker failed to boot": it stops instead of starting
    # worker after worker into the same error.
    print(f"{__package__}: {error}", file=sys.stderr)
    raise SystemExit(3) from None
