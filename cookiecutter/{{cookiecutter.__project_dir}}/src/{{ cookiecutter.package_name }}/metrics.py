"""/metrics: Prometheus metrics of every request, per endpoint, in the Prometheus text format.

What is counted (prometheus-flask-exporter):
- flask_http_request_duration_seconds{method, endpoint, status}: a histogram of how long
  requests took. Its _count is the number of requests, so it also gives the request rate
  and the error rate per endpoint (status="500", ...);
- flask_http_request_total{method, status} and flask_http_request_exceptions_total:
  every request, and the ones that raised;
- app_info{release}: always 1, naming the release that answers (what /healthz reports).

Endpoints, not paths, label the requests: a scanner asking for a thousand made-up paths
would otherwise make a thousand series (all its 404s count under endpoint="none").

The app servers run several worker processes, each with its own memory. With
PROMETHEUS_MULTIPROC_DIR set (the systemd unit and the container image set it) each
process writes its numbers to files there and /metrics adds up every process's files,
whichever worker answers. Without it (tests, `make run`) the numbers are the one
process's own.

Who may read /metrics: the web server lets only this host and the metrics_allow answer's
addresses through (see the README, "Metrics"), and the app itself answers 403 to any
other client address (METRICS_ALLOW, the same list): a second line for where no web
server stands in front, e.g. behind a Kubernetes Ingress, which routes every path.
"""

import os
from functools import wraps
from ipaddress import ip_address, ip_network

from flask import Flask, Request, abort, current_app, request
from prometheus_client import CollectorRegistry

PATH = "/metrics"
# The methods browsers and API clients send. Each other one would be a new label value
# of every request metric, kept in files under PROMETHEUS_MULTIPROC_DIR until the next
# restart: a client sending made-up methods could fill /run. They get 405 before Flask.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class KnownMethodsOnly:
    """WSGI middleware: 405 for any method outside KNOWN_METHODS, uncounted."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") in KNOWN_METHODS:
            return self.wsgi_app(environ, start_response)
        start_response(
            "405 Method Not Allowed",
            [("Content-Type", "text/plain"), ("Allow", ", ".join(sorted(KNOWN_METHODS)))],
        )
        return [b"Method Not Allowed\n"]


def endpoint(req: Request) -> str:
    """The view that answered, "none" for a URL that matched no route (404, 405)."""
    return req.endpoint or "none"


def allowed_clients_only(view):
    """Wraps the /metrics view: 403 unless the client's address is in METRICS_ALLOW."""

    @wraps(view)
    def guarded(*args, **kwargs):
        client = ip_address(request.remote_addr or "0.0.0.0")  # noqa: S104 - no address
        client = getattr(client, "ipv4_mapped", None) or client  # ::ffff:10.0.0.5
        if not any(client in network for network in current_app.extensions["metrics_allow"]):
            abort(403)
        return view(*args, **kwargs)

    return guarded


def init_metrics(app: Flask) -> None:
    if directory := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # systemd makes it on the servers (RuntimeDirectory=); in a container the first
        # worker does, on the empty /tmp each start of the container brings.
        os.makedirs(directory, mode=0o700, exist_ok=True)
        from prometheus_flask_exporter.multiprocess import (
            MultiprocessInternalPrometheusMetrics as Metrics,
        )
    else:
        from prometheus_flask_exporter import PrometheusMetrics as Metrics
    # A registry per app, not prometheus_client's global one: the tests make many apps
    # in one process, and a second app would find every metric name already taken.
    app.extensions["metrics_allow"] = [
        ip_network(net, strict=False) for net in app.config["METRICS_ALLOW"]
    ]
    metrics = Metrics(
        app,
        path=PATH,
        registry=CollectorRegistry(),
        group_by=endpoint,
        metrics_decorator=allowed_clients_only,
    )
    metrics.info("app_info", "The release this app runs", release=app.config["RELEASE_ID"])
    app.wsgi_app = KnownMethodsOnly(app.wsgi_app)
    app.extensions["metrics"] = metrics
