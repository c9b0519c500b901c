"""/healthz: readiness for load balancers, deploy scripts and `make doctor`; /livez:
liveness, for a supervisor that restarts a process that stopped answering.

It answers 200 {"status": "ok", ...} only when every registered check passes, else 503
with the failing checks named ("draining" while a deploy is about to restart the app).
Register your own (database, cache, ...) with `register_check(app, "database", lambda:
db.ping())`; a check passes when it returns without raising.
"""

from collections.abc import Callable
from pathlib import Path

from flask import Blueprint, Flask, current_app

blueprint = Blueprint("health", __name__)

Check = Callable[[], object]


def register_check(app: Flask, name: str, check: Check) -> None:
    app.extensions.setdefault("health_checks", {})[name] = check


@blueprint.get("/healthz")
def healthz():
    failures = {}
    for name, check in current_app.extensions.get("health_checks", {}).items():
        try:
            check()
        except Exception as error:  # noqa: BLE001 - any failure means "not ready"
            failures[name] = f"{type(error).__name__}: {error}"
    # A deploy is about to restart this server: balancers, send elsewhere meanwhile.
    drain_file = current_app.config["DRAIN_FILE"]
    if drain_file and Path(drain_file).exists():
        failures["draining"] = "a deploy is about to restart this server"
    body = {
        "status": "fail" if failures else "ok",
        "release": current_app.config["RELEASE_ID"],
        "failures": failures,
    }
    # Never cached: a proxy must not keep answering "ok" for a dead app.
    return body, 503 if failures else 200, {"Cache-Control": "no-store"}


@blueprint.get("/livez")
def livez():
    """The process answers, and nothing more is checked: a supervisor that restarts on a
    failing liveness check (Kubernetes' livenessProbe) must not restart every app
    process during a database outage, which /healthz reports (and which takes them out
    of rotation until it is over)."""
    return {"status": "ok"}, 200, {"Cache-Control": "no-store"}
