"""Configuration from environment variables.

Every setting can be given as FLASK_<NAME> in the environment (Flask's
`from_prefixed_env`, values parsed as JSON where they look like JSON), e.g.
FLASK_SECRET_KEY, FLASK_LOG_LEVEL=DEBUG, FLASK_TRUSTED_PROXY_COUNT=1.
On a server they come from the systemd EnvironmentFile (see deploy/app.env.example).
"""

import logging
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

DEFAULTS: dict[str, Any] = {
    # How many reverse proxies (nginx, Apache, lighttpd) stand in front of the app.
    # 0 trusts no X-Forwarded-* header at all; the deployed site sets 1.
    "TRUSTED_PROXY_COUNT": 0,
    "LOG_LEVEL": "INFO",
    # Largest request body Flask accepts (bytes); the web server enforces its own limit first.
    "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
    # Shown by /healthz so you can tell which release answered; see release_id().
    "RELEASE_ID": "development",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
}


class ConfigError(RuntimeError):
    """The environment does not describe a runnable configuration."""


def release_id() -> str | None:
    """A deploy writes the release's name into RELEASE at the top of the release, which
    is the app server's working directory."""
    marker = Path("RELEASE")
    return marker.read_text().strip() if marker.is_file() else None


def load_config(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill app.config from DEFAULTS, then FLASK_* variables, then `overrides`."""
    app.config.from_mapping(DEFAULTS)
    if release := release_id():
        app.config["RELEASE_ID"] = release
    app.config.from_prefixed_env()
    if overrides:
        app.config.from_mapping(overrides)

    if not app.config.get("SECRET_KEY"):
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
