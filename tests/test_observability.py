"""Metrics, request ids and error tracking through the real web and app servers.

Each test installs a rendered project into a sandbox (sandbox.py) as on a server and
drives it with curl from inside. Besides 127.0.0.1 the sandbox's loopback gets two
documentation addresses (TEST-NET-1, RFC 5737), which exist only in its own network
namespace: 192.0.2.10 plays a client on the internet, 192.0.2.20 the Prometheus server
the metrics_allow answer names. The Sentry test's receiver listens inside the sandbox
too: no request leaves it.
"""

import collections
import json
import shlex
import sys

import pytest
import test_serving as serving
from conftest import SERVER_PAIRS, combo_id, require_tool
from sandbox import Sandbox
from server_install import (
    WEB_SERVER_BINARIES,
    WEB_SERVER_PACKAGES,
    Site,
    load_answers,
)
from test_serving import DOMAIN, populate_uv_cache

pytestmark = pytest.mark.slow

PUBLIC_CLIENT = "192.0.2.10"
PROMETHEUS = "192.0.2.20"
REQUESTS = 24
# Routes the tests add to the app: one that raises, one that takes a while (so requests
# sent at once need several processes to answer them).
BOOM_ROUTE = '''

@blueprint.get("/_boom")
def boom():
    return 1 / 0
'''
SLOW_ROUTE = '''

@blueprint.get("/_slow")
def slow():
    import time

    time.sleep(0.3)
    return "done"
'''
# Stands in for Sentry, inside the sandbox: appends each envelope it gets, unzipped, to
# the file named by argv[1], and listens on 127.0.0.1:argv[2].
RECEIVER = r'''
import gzip, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        with open(sys.argv[1], "ab") as out:
            out.write(self.path.encode() + b"\n" + body + b"\n")
        self.send_response(200)
        self.end_headers()

HTTPServer(("127.0.0.1", int(sys.argv[2])), Receiver).serve_forever()
'''


@pytest.fixture
def site(request, rendered, tmp_path):
    web, app = request.param
    require_tool(WEB_SERVER_BINARIES[web], WEB_SERVER_PACKAGES[web])
    project = rendered(web_server=web, app_server=app, tls="none", domain=DOMAIN,
                       metrics_allow=PROMETHEUS)
    populate_uv_cache(project, tmp_path)
    sandbox = Sandbox(tmp_path / "sandbox")
    try:
        sandbox.sh(f"ip addr add {PUBLIC_CLIENT}/32 dev lo; ip addr add {PROMETHEUS}/32 dev lo")
        yield Site(sandbox=sandbox, answers=load_answers(project), project=project)
    finally:
        sandbox.close()


def start(site: Site, settings: str = "", route: str = "") -> None:
    """test_serving's start(), with lines added to app.env and a route to the app."""
    def prepare(site: Site) -> None:
        root, package = site.answers["install_path"], site.answers["package_name"]
        if settings:
            site.sandbox.sh(f"printf '%s\\n' {shlex.quote(settings)} >> {root}/shared/app.env")
        if route:
            views = f"{root}/releases/r1/src/{package}/views.py"
            site.sandbox.sh(f"cat >> {views} <<'EOF'\n{route}EOF")

    serving.start(site, prepare)


def get(site: Site, path: str, via: str = "127.0.0.1", source: str | None = None,
        options: tuple[str, ...] = ()):
    """curl http://DOMAIN<path>, reaching the site at `via` from address `source`."""
    bind = ["--interface", source] if source else []
    return site.sandbox.curl(f"http://{DOMAIN}{path}", "--resolve", f"{DOMAIN}:80:{via}",
                             *bind, *options)


def app_log_lines(site: Site) -> list[dict]:
    """The app's JSON log lines: the app server's output, or Apache's logs for mod_wsgi."""
    if site.app == "mod_wsgi":
        text = site.sandbox.run(["sh", "-c", "cat /var/log/apache2/*error.log"]).stdout
    else:
        text = site.sandbox.log("app")
    # Apache prefixes each line the daemon processes print; the JSON starts at "{".
    lines = [line[line.find("{"):] for line in text.splitlines() if '{"time"' in line]
    return [json.loads(line) for line in lines]


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        series, _, value = line.rpartition(" ")
        if series.split("{")[0] == name and all(f'{k}="{v}"' in series
                                                 for k, v in labels.items()):
            return float(value)
    return 0.0


@pytest.mark.parametrize("site", SERVER_PAIRS, ids=[combo_id(*p) for p in SERVER_PAIRS],
                         indirect=True)
def test_metrics_add_up_every_worker_and_only_allowed_addresses_read_them(site):
    start(site, settings="FLASK_LOG_FORMAT=json", route=SLOW_ROUTE)
    sb = site.sandbox

    # Slow requests at once: more than one worker (or mod_wsgi daemon process, 8
    # threads each) must serve them.
    urls = " ".join(f"-o /dev/null http://{DOMAIN}/_slow" for _ in range(REQUESTS))
    sb.sh(f"curl --silent --fail --parallel --parallel-immediate --parallel-max {REQUESTS} "
          f"--resolve {DOMAIN}:80:127.0.0.1 {urls}", timeout=60)
    served = [line for line in app_log_lines(site)
              if line.get("logger") == "access" and line.get("path") == "/_slow"]
    assert len(served) == REQUESTS, served
    by_process = collections.Counter(line["pid"] for line in served)
    assert len(by_process) > 1, f"one process served all {REQUESTS}: nothing to add up"

    # Read from the server itself: whichever process answers counts every process's.
    for _ in range(3):
        page = get(site, "/metrics")
        assert page.status == 200, page
        count = metric(page.body.decode(), "flask_http_request_duration_seconds_count",
                       endpoint="views.slow", status="200")
        assert count == REQUESTS, (count, dict(by_process))
    assert metric(page.body.decode(), "app_info", release="r1") == 1

    # The Prometheus server of the metrics_allow answer may read them too...
    allowed = get(site, "/metrics", via=PUBLIC_CLIENT, source=PROMETHEUS)
    assert allowed.status == 200 and b"flask_http_request_total" in allowed.body, allowed
    # ...anyone else gets 403 from the web server, however the path is spelled, while
    # the rest of the site answers them.
    assert get(site, "/healthz", via=PUBLIC_CLIENT).status == 200
    for path in ("/metrics", "/metrics?x=1", "/%6detrics", "//metrics", "/static/../metrics"):
        refused = get(site, path, via=PUBLIC_CLIENT, source=PUBLIC_CLIENT,
                      options=("--path-as-is",))
        assert refused.status != 200 and b"flask_http" not in refused.body, (path, refused)
    assert get(site, "/metrics", via=PUBLIC_CLIENT, source=PUBLIC_CLIENT).status == 403
    metrics_served = [line for line in app_log_lines(site) if line.get("path") == "/metrics"]
    assert len(metrics_served) == 4, metrics_served  # the allowed reads only


@pytest.mark.parametrize("site", SERVER_PAIRS, ids=[combo_id(*p) for p in SERVER_PAIRS],
                         indirect=True)
def test_the_web_servers_request_id_is_logged_by_the_app_and_returned(site):
    start(site, settings="FLASK_LOG_FORMAT=json")
    forged = "forged-by-the-client"
    page = get(site, "/healthz", options=("--header", f"X-Request-ID: {forged}"))
    assert page.status == 200, page
    request_id = page.header("x-request-id")
    assert request_id and request_id != forged, page.headers
    logged = [line for line in app_log_lines(site) if line.get("logger") == "access"]
    assert [line["request_id"] for line in logged] == [request_id], logged
    assert logged[0]["status"] == 200
    # The web server's own access log has it too (lighttpd keeps none by default).
    access_log = {"nginx": "/var/log/nginx/access.log",
                  "apache": f"/var/log/apache2/{site.slug}-access.log"}.get(site.web)
    if access_log:
        # Written after the response has gone (Apache's log phase): wait for it.
        site.sandbox.wait_until(f"{request_id} in {access_log}", lambda: site.sandbox.run(
            ["tail", "-n", "1", access_log]).stdout.rstrip().endswith(f" {request_id}"),
            deadline_s=10)


SENTRY_PAIRS = [("nginx", "gunicorn"), ("nginx", "uwsgi"), ("apache", "mod_wsgi")]


@pytest.mark.parametrize("site", SENTRY_PAIRS, ids=[combo_id(*p) for p in SENTRY_PAIRS],
                         indirect=True)
def test_an_error_reaches_sentry_with_the_release_and_environment(site):
    sb = site.sandbox
    received, port = "/run/sentry-envelopes", 9000
    receiver = sb.start("sentry", [sys.executable, "-c", RECEIVER, received, str(port)])
    sb.wait_until("the Sentry receiver", lambda: sb.run(
        ["sh", "-c", f"ss -ltn | grep -q ':{port} '"], check=False).returncode == 0,
        watch=(("sentry", receiver),))
    start(site, route=BOOM_ROUTE,
          settings=f"SENTRY_DSN=http://public@127.0.0.1:{port}/42\nAPP_ENVIRONMENT=staging")

    boom = get(site, "/_boom")
    assert boom.status == 500, boom
    request_id = boom.header("x-request-id")

    def event():
        text = sb.run(["sh", "-c", f"cat {received} 2>/dev/null || true"]).stdout
        items = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        return next((item for item in items if "exception" in item), None)

    sb.wait_until("an event at the receiver", lambda: event() is not None, deadline_s=20,
                  watch=(("sentry", receiver),))
    found = event()
    assert "/api/42/envelope/" in sb.run(["cat", received]).stdout
    assert (found["release"], found["environment"]) == ("r1", "staging"), found
    assert found["exception"]["values"][-1]["type"] == "ZeroDivisionError"
    assert found["tags"]["request_id"] == request_id
