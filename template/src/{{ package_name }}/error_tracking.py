"""Error tracking with Sentry (or anything that speaks its protocol, e.g. GlitchTip):
on only when SENTRY_DSN is set.

Every unhandled exception is then sent with its traceback, the request (no cookies,
no form data, no user's address: send_default_pii stays off), the release that raised
it (RELEASE_ID, what /healthz reports) and the environment (SENTRY_ENVIRONMENT if set,
else APP_ENVIRONMENT, which `make provision` writes, else "production"), tagged with
the request id of the log lines.

Without SENTRY_DSN the SDK is not even imported: importing it takes ~0.15 s in each
process that loads the app. On the servers the app's unit has no network: the README's
"Error tracking (Sentry)" says how to let it reach Sentry alone.
"""

import os

from flask import Flask, g

DEFAULT_ENVIRONMENT = "production"


def init_error_tracking(app: Flask) -> bool:
    """Start the Sentry SDK when SENTRY_DSN is set; True when it did."""
    dsn = os.environ.get("SENTRY_DSN", "").strip()
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    sentry_sdk.init(
        dsn=dsn,
        release=os.environ.get("SENTRY_RELEASE") or app.config["RELEASE_ID"],
        environment=os.environ.get("SENTRY_ENVIRONMENT")
        or os.environ.get("APP_ENVIRONMENT")
        or DEFAULT_ENVIRONMENT,
        integrations=[FlaskIntegration()],
        # Not even a form or JSON body: the SDK sends bodies up to 10 kB unless told not
        # to, send_default_pii or not, and a body holds what users typed.
        max_request_body_size="never",
        # Errors only, no performance tracing (traces_sample_rate unset): tracing sends
        # a transaction per sampled request. Add e.g. traces_sample_rate=0.05 here
        # when you want it.
    )

    @app.before_request
    def tag_request_id() -> None:
        sentry_sdk.set_tag("request_id", g.get("request_id"))

    return True
