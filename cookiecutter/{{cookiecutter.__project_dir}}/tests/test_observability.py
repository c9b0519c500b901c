"""Metrics, request ids, request logs and error tracking, through the Flask test client.

The Sentry test sends a real event over HTTP to a receiver on 127.0.0.1 that this test
starts: nothing leaves the machine.
"""

import gzip
import io
import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sentry_sdk

from {{ cookiecutter.package_name }} import create_app
from {{ cookiecutter.package_name }}.config import ConfigError
from {{ cookiecutter.package_name }}.logs import JsonFormatter, RequestIdFilter


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one series in a /metrics page (0 when it is not there)."""
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series.split("{")[0] == name and all(
            f'{key}="{val}"' in series for key, val in labels.items()
        ):
            return float(value)
    return 0.0


def test_metrics_count_requests_per_endpoint_and_name_the_release(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "RELEASE").write_text("20261201101500-abc1234\n")
    client = create_app({"TESTING": True, "SECRET_KEY": "k"}).test_client()
    for _ in range(3):
        client.get("/healthz")
    client.get("/no-such-page")

    page = client.get("/metrics")
    assert page.status_code == 200
    assert page.mimetype == "text/plain"
    text = page.get_data(as_text=True)
    count = "flask_http_request_duration_seconds_count"
    assert metric(text, count, endpoint="health.healthz", status="200") == 3
    # URLs no route matches count under one series, whatever their paths.
    assert metric(text, count, endpoint="none", status="404") == 1
    assert metric(text, "app_info", release="20261201101500-abc1234") == 1
    # Scrapes themselves are not counted.
    assert "prometheus_metrics" not in text


def test_a_made_up_method_is_refused_and_makes_no_series(client):
    assert client.open("/healthz", method="BREW").status_code == 405
    assert client.open("/healthz", method="GET").status_code == 200
    text = client.get("/metrics").get_data(as_text=True)
    assert "BREW" not in text
    assert 'method="GET"' in text


def test_metrics_answer_only_the_allowed_addresses(monkeypatch):
    """The app's own check, behind the web server's (which applies the same list)."""
    monkeypatch.setenv("FLASK_METRICS_ALLOW", '["127.0.0.1", "::1", "10.1.0.0/16"]')
    client = create_app({"TESTING": True, "SECRET_KEY": "k"}).test_client()
    for address, status in [
        ("127.0.0.1", 200),
        ("::1", 200),
        ("10.1.2.3", 200),
        ("::ffff:10.1.2.3", 200),
        ("10.2.0.1", 403),
        ("203.0.113.9", 403),
    ]:
        response = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
        assert response.status_code == status, address
    # The rest of the app answers everyone.
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200


@pytest.mark.parametrize("value", ['"10.0.0.0/8"', '["10.0.0.0/33"]', '["example.com"]'])
def test_a_bad_metrics_allow_list_refuses_to_start(monkeypatch, value):
    monkeypatch.setenv("FLASK_METRICS_ALLOW", value)
    with pytest.raises(ConfigError, match="FLASK_METRICS_ALLOW"):
        create_app({"TESTING": True, "SECRET_KEY": "k"})


def test_the_request_id_from_the_web_server_is_returned(client):
    response = client.get("/healthz", headers={"X-Request-ID": "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7"})
    assert response.headers["X-Request-ID"] == "3f2a9c0d4e5b6a7f8091a2b3c4d5e6f7"
    # Apache's mod_unique_id ids have @ and - in them.
    apache_id = "Z0xv8H8AAQEAAAcnF@8AAAAB-x"
    assert client.get("/", headers={"X-Request-ID": apache_id}).headers["X-Request-ID"] == apache_id


@pytest.mark.parametrize("sent", [None, "", "has spaces", "x" * 129, 'quote"d', "a;b"])
def test_a_missing_or_odd_request_id_is_replaced_by_a_new_one(client, sent):
    headers = {} if sent is None else {"X-Request-ID": sent}
    first = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    second = client.get("/healthz", headers=headers).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


@pytest.fixture
def json_lines():
    """What the app logs during the test, as JSON lines (FLASK_LOG_FORMAT=json)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    level = root.level
{% if cookiecutter.database != 'none' %}
    # INFO, as the app sets it: the migrations the app fixture ran left Alembic's WARNING.
{% else %}
    # INFO, as the app sets it.
{% endif %}
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_each_request_is_one_json_line_with_its_id(app, json_lines):
    app.add_url_rule("/hello", "hello", lambda: app.logger.warning("said %s", "hello") or "hi")
    response = app.test_client().get("/hello?to=%0Aworld", headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 200

    lines = json_lines()
    said, access = lines[-2], lines[-1]
    assert said["message"] == "said hello"
    assert said["request_id"] == "abc-123"
    assert access["logger"] == "access"
    assert access["request_id"] == "abc-123"
    assert {key: access[key] for key in ("method", "path", "query", "status", "endpoint")} == {
        "method": "GET",
        "path": "/hello",
        "query": "to=%0Aworld",
        "status": 200,
        "endpoint": "hello",
    }
    assert access["duration_ms"] >= 0


def test_a_newline_in_the_path_cannot_start_a_fake_text_log_line(client, caplog):
    caplog.set_level(logging.INFO, logger="access")
    client.get("/x%0A2026-12-01 INFO [access] forged")
    message = caplog.records[-1].getMessage()
    assert "\n" not in message
    assert message.startswith("GET /x%0A2026-12-01%20INFO")


class Receiver(BaseHTTPRequestHandler):
    """Stands in for Sentry: keeps each envelope posted to it."""

    envelopes: list[list[dict]] = []

    def do_POST(self):  # noqa: N802 - the name http.server calls
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        Receiver.envelopes.append([json.loads(line) for line in body.splitlines() if line])
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def sentry_dsn(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Receiver.envelopes = []
    monkeypatch.setenv("SENTRY_DSN", f"http://public@127.0.0.1:{server.server_port}/1")
    # As `make provision ENV=staging` writes it into app.env.
    monkeypatch.setenv("APP_ENVIRONMENT", "staging")
    monkeypatch.delenv("SENTRY_ENVIRONMENT", raising=False)
    try:
        yield Receiver.envelopes
    finally:
        # A client that sends nothing, as without SENTRY_DSN, for the tests that follow.
        sentry_sdk.get_client().close()
        monkeypatch.delenv("SENTRY_DSN")
        sentry_sdk.init()
        server.shutdown()
        server.server_close()


def test_an_error_reaches_sentry_with_the_release_and_environment(sentry_dsn, monkeypatch):
    monkeypatch.setenv("FLASK_RELEASE_ID", "20261201101500-abc1234")
    app = create_app({"SECRET_KEY": "0123456789abcdef" * 4})

    def boom():
        return 1 / 0

    app.add_url_rule("/boom", "boom", boom)
    response = app.test_client().get("/boom", headers={"X-Request-ID": "abc-123"})
    assert response.status_code == 500
    sentry_sdk.flush(timeout=5)

    events = [item for envelope in sentry_dsn for item in envelope if "exception" in item]
    assert len(events) == 1, sentry_dsn
    event = events[0]
    assert event["release"] == "20261201101500-abc1234"
    assert event["environment"] == "staging"
    assert event["exception"]["values"][-1]["type"] == "ZeroDivisionError"
    assert event["tags"]["request_id"] == "abc-123"


def test_without_a_dsn_sentry_is_never_started(monkeypatch):
    monkeypatch.delenv("SENTRY_DSN", raising=False)

    def refuse(**options):
        raise AssertionError(f"sentry_sdk.init called without SENTRY_DSN: {options}")

    monkeypatch.setattr(sentry_sdk, "init", refuse)
    client = create_app({"TESTING": True, "SECRET_KEY": "k"}).test_client()
    assert client.get("/healthz").status_code == 200
