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
PROMETHEUS_MULTIPROC_DIR set (the systemd unit sets it) each process writes its numbers
to files there and /metrics adds up every process's files, whichever worker answers.
Without it (tests, `make run`) the numbers are the one process's own.

/metrics answers anyone who reaches the app: the web server lets only this host and the
addresses in the site file's allow list through (see the README, "Metrics").
"""

import os

from flask import Flask, Request
from prometheus_client import CollectorRegistry

PATH = "/metrics"


def endpoint(req: Request) -> str:
    """The view that answered, "none" for a URL that matched no route (404, 405)."""
    return req.endpoint or "none"


def init_metrics(app: Flask) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_flask_exporter.multiprocess import (
            MultiprocessInternalPrometheusMetrics as Metrics,
        )
    else:
        from prometheus_flask_exporter import PrometheusMetrics as Metrics
    # A registry per app, not prometheus_client's global one: the tests make many apps
    # in one process, and a second app would find every metric name already taken.
    metrics = Metrics(app, path=PATH, registry=CollectorRegistry(), group_by=endpoint)
    metrics.info("app_info", "The release this app runs", release=app.config["RELEASE_ID"])
    app.extensions["metrics"] = metrics
