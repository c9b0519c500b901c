"""Logs: to stdout, one line per record, one line per request, each with its request id.

stdout goes to systemd's journal (or Apache's error log under mod_wsgi, or your
terminal): no log files to rotate. FLASK_LOG_FORMAT chooses the lines' shape:
- text (the default), for people:
    2026-12-01 10:15:00,123 INFO [access] 3f2a...c9 GET /healthz 200 1.8ms
- json, one JSON object a line, for a log shipper (Vector, Promtail, Fluent Bit, ...),
  the request's fields as their own keys:
    {"time": "2026-12-01T10:15:00.123+00:00", "level": "INFO", "logger": "access",
     "request_id": "3f2a...c9", "message": "GET /healthz 200 1.8ms", "method": "GET", ...}

The request id comes from the web server (X-Request-ID: nginx's $request_id, Apache's
mod_unique_id, a random one from lighttpd's header script), which logs it too, so one
request can be followed from the web server's log into the app's. The app makes one up
when none came (`make run`), logs it on every line written while it serves the request,
and returns it in the X-Request-ID response header: a user reporting an error can quote it.
"""

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

from flask import Flask, Response, g, has_request_context, request

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(request_id)s %(message)s"
FORMATS = ("text", "json")
# The per-request line's logger: filter on it, or silence it with
# logging.getLogger("access").setLevel(logging.WARNING).
ACCESS = logging.getLogger("access")
# Ids the web servers make (hex, Apache's base64-like @ and -) and then some; anything
# else a client sent to `make serve` is replaced, so no odd text reaches the logs.
REQUEST_ID = re.compile(r"[A-Za-z0-9@_.:+=/-]{1,128}")
NO_REQUEST = "-"
# What stays as it is when a path is written into a text line (quote() encodes the rest).
URL_SAFE = "/:@!$&'()*+,;=~"


class RequestIdFilter(logging.Filter):
    """Adds record.request_id: the request being served, or "-" outside a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", NO_REQUEST) if has_request_context() else NO_REQUEST
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (ISO 8601, UTC), level, logger, pid, request_id, message,
    the fields given as `extra={"fields": {...}}`, and a traceback as "exception"."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            # Which worker process wrote it: several serve the app at once.
            "pid": record.process,
            "request_id": getattr(record, "request_id", NO_REQUEST),
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str, log_format: str = "text") -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    # Keep handlers an app server installed (gunicorn, uWSGI); add ours only once.
    ours = [handler for handler in root.handlers if getattr(handler, "_app_stdout", False)]
    handler = ours[0] if ours else logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    if not ours:
        handler.addFilter(RequestIdFilter())
        handler._app_stdout = True  # type: ignore[attr-defined]
        root.addHandler(handler)


def init_request_logging(app: Flask) -> None:
    """The request id for every request, and a line for each one when it is answered."""

    @app.before_request
    def start() -> None:
        sent = request.headers.get("X-Request-ID", "")
        g.request_id = sent if REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        g.request_start = time.perf_counter()

    @app.after_request
    def finish(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id is None:  # a before_request function answered before ours ran
            return response
        response.headers["X-Request-ID"] = request_id
        duration_ms = (time.perf_counter() - g.request_start) * 1000
        query = request.query_string.decode("latin-1")
        fields = {
            "method": request.method,
            "path": request.path,
            "query": query,
            "status": response.status_code,
            "duration_ms": round(duration_ms, 1),
            "endpoint": request.endpoint,
            "remote_addr": request.remote_addr,
            "user_agent": request.user_agent.string,
        }
        # The path as it travels, percent-encoded: a "%0A" the client sent must not
        # start a new line that a log reader would take for another record.
        target = quote(request.path, safe=URL_SAFE)
        if query:
            target += "?" + quote(query, safe=URL_SAFE + "?%")
        ACCESS.info(
            "%s %s %s %.1fms",
            request.method,
            target,
            response.status_code,
            duration_ms,
            extra={"fields": fields},
        )
        return response
