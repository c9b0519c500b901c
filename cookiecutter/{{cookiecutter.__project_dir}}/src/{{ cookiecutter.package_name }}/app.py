"""The application factory: builds a configured Flask app."""

from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

{% if cookiecutter.database != 'none' %}
from . import health, notes, views
from .config import load_config
from .error_tracking import init_error_tracking
from .extensions import db, migrate, ping_database
{% else %}
from . import health, views
from .config import load_config
from .error_tracking import init_error_tracking
{% endif %}
from .logs import configure_logging, init_request_logging
from .metrics import init_metrics


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Create the app; `overrides` wins over the environment (tests use it)."""
    app = Flask(__name__)
    load_config(app, overrides)
    configure_logging(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])

    proxies = app.config["TRUSTED_PROXY_COUNT"]
    if proxies:
        # Trust exactly as many X-Forwarded-For/-Proto hops as there are proxies in front
        # of us. Each proxy appends the address it saw, so the real client is the entry
        # the outermost trusted proxy added; whatever a client wrote before it is ignored.
        # X-Forwarded-Host/-Prefix stay untrusted: the web server passes those through
        # from the client unchanged.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)

{% if cookiecutter.database == 'sqlite' %}
    db.init_app(app)
    # SQLite cannot alter most of a table in place: Alembic's batch mode writes such
    # migrations as "copy into a new table, then swap", so `make db-migrate` gives
    # migrations that run on it.
    migrate.init_app(app, db, render_as_batch=True)
    health.register_check(app, "database", ping_database)

{% elif cookiecutter.database == 'postgresql' %}
    db.init_app(app)
    migrate.init_app(app, db)
    health.register_check(app, "database", ping_database)

{% endif %}
    # In this order: the request id first, so the others' work is logged and tagged with it.
    init_request_logging(app)
    init_metrics(app)
    init_error_tracking(app)

    app.register_blueprint(views.blueprint)
    app.register_blueprint(health.blueprint)
{% if cookiecutter.database != 'none' %}
    app.register_blueprint(notes.blueprint)
{% endif %}
    return app
