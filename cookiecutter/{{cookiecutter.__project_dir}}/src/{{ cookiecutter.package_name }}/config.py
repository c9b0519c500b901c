"""Configuration from environment variables.

Every setting can be given as FLASK_<NAME> in the environment (Flask's
`from_prefixed_env`, values parsed as JSON where they look like JSON), e.g.
FLASK_SECRET_KEY, FLASK_LOG_LEVEL=DEBUG, FLASK_LOG_FORMAT=json, FLASK_TRUSTED_PROXY_COUNT=1.
On a server they come from the environment file (see deploy/app.env.example).
{% if cookiecutter.database != 'none' %}
The database is DATABASE_URL, the name hosting platforms and tools use for it.
{% endif %}
"""

import logging
{% if cookiecutter.database != 'none' %}
import os
{% endif %}
import secrets
from collections.abc import Mapping
from copy import deepcopy
from ipaddress import ip_network
from pathlib import Path
from typing import Any

from flask import Flask

from .logs import FORMATS

DEFAULTS: dict[str, Any] = {
    # How many reverse proxies (nginx, Apache, lighttpd) stand in front of the app.
{% if cookiecutter.__trusted_proxy_count == '1' %}
    # 0 trusts no X-Forwarded-* header at all; on the servers the systemd unit sets 1,
    # for the web server in front of {{ cookiecutter.__app_server_label }}.
{% else %}
    # 0 trusts no X-Forwarded-* header at all: {{ cookiecutter.__app_server_label }} gets the client's address
    # and scheme from the web server without them.
{% endif %}
    "TRUSTED_PROXY_COUNT": 0,
    "LOG_LEVEL": "INFO",
    # text (for people) or json (one object a line, for a log shipper): see logs.py.
    "LOG_FORMAT": "text",
    # Client addresses and networks that may read /metrics (metrics.py): this host and
    # the metrics_allow answer's, the list the web server applies first. E.g.
    # FLASK_METRICS_ALLOW='["127.0.0.1", "::1", "10.0.0.0/8"]'.
    "METRICS_ALLOW": [
        "127.0.0.1",
        "::1",
{% for network in cookiecutter.__metrics_networks.split() %}
        "{{ network }}",
{% endfor %}
    ],
    # Largest request body Flask accepts: {{ cookiecutter.max_body_size_mb }} MB, the web server's own limit,
    # which refuses bigger bodies first on the servers. Only a second line: a body sent
    # in chunks (no Content-Length) is cut at this size without an error (Werkzeug 3.1
    # stops reading there), so the web server's 413 is the one to rely on.
    "MAX_CONTENT_LENGTH": {{ cookiecutter.max_body_size_mb }} * 1024 * 1024,
    # Shown by /healthz so you can tell which release answered; see release_id().
    "RELEASE_ID": "development",
    # While this file exists /healthz answers 503 "draining", so load balancers that
    # check it stop sending requests here: a deploy makes it for a few seconds before
    # it restarts the app (drain_seconds in deploy/ansible/vars.yml). The servers set
    # FLASK_DRAIN_FILE; None: never draining.
    "DRAIN_FILE": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
{% if cookiecutter.tls != 'none' %}
    # The site is HTTPS only: session cookies never travel in clear (browsers still take
    # them from http://127.0.0.1 in development), and url_for(_external=True) builds
    # https:// links even outside a request.
    "SESSION_COOKIE_SECURE": True,
    "PREFERRED_URL_SCHEME": "https",
{% endif %}
{% if cookiecutter.database != 'none' %}
    # SQLAlchemy's engine: each app-server process keeps its own pool of connections.
    # Any of these can be set from the environment, a level down with "__", e.g.
    # FLASK_SQLALCHEMY_ENGINE_OPTIONS__pool_size=4.
    "SQLALCHEMY_ENGINE_OPTIONS": {
        # One connection per request a process serves at once is enough: {{ cookiecutter.__app_server_label }}
{% if cookiecutter.app_server == 'mod_wsgi' %}
        # runs 8 threads in each daemon process (deploy/apache/), so 8. The database sees
{% else %}
        # serves one request at a time in each worker process, so 1. The database sees
{% endif %}
        # (processes x (pool_size + max_overflow)) connections per server; keep that,
{% if cookiecutter.database == 'postgresql' %}
        # for every server together, under PostgreSQL's max_connections (100 by default).
{% else %}
        # small: SQLite lets one connection write at a time anyway.
{% endif %}
        "pool_size": {{ cookiecutter.__database_pool_size }},
        # Extra connections for a moment of need (a thread the app starts, `flask run`'s
        # threaded dev server), closed again when returned.
        "max_overflow": 2,
        # Seconds a request waits for a free connection before failing, instead of
        # hanging until the app server kills the worker.
        "pool_timeout": 5,
        # Test each connection as it leaves the pool, so one the database or a firewall
        # closed meanwhile (a database restart) is replaced instead of failing a request.
        "pool_pre_ping": True,
{% if cookiecutter.database == 'postgresql' %}
        "connect_args": {
            # Seconds to wait for PostgreSQL to accept a connection: an unreachable
            # database fails requests and /healthz quickly instead of hanging them.
            "connect_timeout": 3,
            # The longest one statement may run (ms) before PostgreSQL cancels it: a
            # runaway query must not hold a worker and a connection for ever. Migrations
            # lift it (migrations/env.py).
            "options": "-c statement_timeout=5000",
        },
{% else %}
        "connect_args": {
            # Seconds a statement waits for another connection's write lock (SQLite's
            # busy timeout) before failing with "database is locked". Opening the file
            # itself never waits.
            "timeout": 5,
        },
{% endif %}
    },
{% endif %}
}
# A key anyone can guess signs sessions anyone can forge: the example file's
# placeholder, and anything shorter than 32 characters (token_hex(32) gives 64).
PLACEHOLDER_KEYS = {"change-me", "changeme", "secret", "dev", "development"}
MIN_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


def release_id() -> str | None:
    """A deploy writes the release's name into RELEASE at the top of the release, which
    is the app server's working directory."""
    marker = Path("RELEASE")
    return marker.read_text().strip() if marker.is_file() else None


def load_config(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill app.config from DEFAULTS, then FLASK_* variables, then `overrides`."""
    # A copy: FLASK_A__B=... settings change nested dicts in place.
    app.config.from_mapping(deepcopy(DEFAULTS))
    if release := release_id():
        app.config["RELEASE_ID"] = release
    app.config.from_prefixed_env()
{% if cookiecutter.database != 'none' %}
    if url := os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = url
{% endif %}
    if overrides:
        app.config.from_mapping(overrides)
{% if cookiecutter.database != 'none' %}
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = default_database_url(app)
{% endif %}

    key = app.config.get("SECRET_KEY")
    guessable = key in PLACEHOLDER_KEYS or len(key or "") < MIN_KEY_LENGTH
    if key and guessable and not (app.debug or app.testing):
        raise ConfigError(
            f"FLASK_SECRET_KEY is a placeholder or shorter than {MIN_KEY_LENGTH} characters, "
            "so sessions could be forged: put a random value in the environment file; "
            "python3 -c 'import secrets; print(secrets.token_hex(32))' prints one"
        )
    if not key:
        if not (app.debug or app.testing):
            raise ConfigError(
                "FLASK_SECRET_KEY is not set, and sessions would be forgeable without it: "
                "put FLASK_SECRET_KEY=<random value> in the environment file (.env locally); "
                "python3 -c 'import secrets; print(secrets.token_hex(32))' prints one"
            )
        # Development only: a fresh random key each start (sessions end on restart).
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        logging.getLogger(__name__).warning("FLASK_SECRET_KEY unset: using a throwaway key")

    count = app.config["TRUSTED_PROXY_COUNT"]
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ConfigError(f"FLASK_TRUSTED_PROXY_COUNT must be a whole number >= 0, not {count!r}")
    if logging.getLevelName(str(app.config["LOG_LEVEL"]).upper()) not in range(0, 60):
        raise ConfigError(f"FLASK_LOG_LEVEL {app.config['LOG_LEVEL']!r} is not a logging level")
    allow = app.config["METRICS_ALLOW"]
    try:
        if not isinstance(allow, list):
            raise TypeError(f"not a list: {allow!r}")
        for network in allow:
            # As the web servers read it: 10.0.0.5/24 is the network 10.0.0.0/24.
            ip_network(network, strict=False)
    except (TypeError, ValueError) as error:
        raise ConfigError(
            f"FLASK_METRICS_ALLOW must be a JSON list of addresses or networks ({error})"
        ) from None
    if app.config["LOG_FORMAT"] not in FORMATS:
        raise ConfigError(
            f"FLASK_LOG_FORMAT must be one of {', '.join(FORMATS)}, "
            f"not {app.config['LOG_FORMAT']!r}"
        )
{% if cookiecutter.database == 'sqlite' %}


def default_database_url(app: Flask) -> str:
    """Without DATABASE_URL: a file in Flask's instance folder (src/instance/, which git
    ignores), so `make run` works out of the box. Never on a server, where the release
    is read-only and replaced on every deploy: the data must live in shared/."""
    if release_id():
        raise ConfigError(
            "DATABASE_URL is not set: on a server it names the SQLite file under shared/, "
            "in the environment file: DATABASE_URL="
            "sqlite:///{{ cookiecutter.__sqlite_path }}"
        )
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{instance / '{{ cookiecutter.package_name }}.sqlite3'}"
{% elif cookiecutter.database == 'postgresql' %}


def default_database_url(app: Flask) -> str:
    """There is no PostgreSQL to assume: the URL must be given."""
    raise ConfigError(
        "DATABASE_URL is not set: point it at your PostgreSQL, e.g. "
        "DATABASE_URL=postgresql+psycopg:///{{ cookiecutter.package_name }} for a local server over its "
        "Unix socket as your own user (put it in .env; the README's Database section has more)"
    )
{% endif %}
