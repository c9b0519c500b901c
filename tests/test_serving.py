"""Every web server x app server x TLS combination serves the app through the real servers.

Each test renders a project, installs it into a sandbox (see sandbox.py) exactly as on a
server, starts the real app server and web server from the generated files, and talks
to them over the sandbox's loopback with curl.
"""

import hashlib
import json
import os
import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import SERVER_PAIRS, TLS_MODES, VENV_BIN, combo_id, require_tool, run
from sandbox import Sandbox
from server_install import (
    ECHO_LOG,
    FOREGROUND,
    WEB_SERVER_BINARIES,
    WEB_SERVER_PACKAGES,
    Site,
    computed,
    config_test,
    install_certificate,
    install_release,
    install_site,
    install_sqlite_database,
    load_answers,
    start_app_server,
    start_web_server,
)

pytestmark = pytest.mark.slow

DOMAIN = "shop.example.com"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}
COMBOS = [(web, app, tls) for web, app in SERVER_PAIRS for tls in TLS_MODES]
# Every forwarding header a client could use to pose as another address, host or scheme.
FORGED_FORWARDING = {
    "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "gopher",
    "X-Forwarded-Host": "evil.example", "X-Forwarded-Port": "6666",
    "X-Forwarded-Server": "evil.example", "X-Forwarded-Ssl": "on",
    "X-Forwarded-Protocol": "gopher", "X-Real-IP": "6.6.6.6",
    "Forwarded": "for=6.6.6.6;proto=gopher;host=evil.example",
}
# The same names spelled with "_" or ".": CGI-style servers turn every one of them into
# the HTTP_X_FORWARDED_* variable the app reads, unless the web server drops them.
FORGED_SPELLINGS = {
    name.replace("-", sep): value
    for name, value in FORGED_FORWARDING.items() if "-" in name for sep in "_."
}


def populate_uv_cache(project: Path, scratch: Path) -> None:
    """The sandbox has no network: fill uv's cache on the host first (in a scratch copy,
    leaving the shared rendered project untouched)."""
    uv = require_tool("uv", "uv (pip: part of the test dependencies)")
    copy = scratch / "uv-cache-warmup"
    shutil.copytree(project, copy)
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    result = run([uv, "sync", "--locked", "--no-dev", "--quiet", "--python", "/usr/bin/python3"],
                 cwd=copy, env=env)
    assert result.returncode == 0, result.stderr


@pytest.fixture
def site(request, rendered, tmp_path):
    web, app, tls, *database = request.param
    require_tool(WEB_SERVER_BINARIES[web], WEB_SERVER_PACKAGES[web])
    answers = {"database": database[0]} if database else {}
    project = rendered(web_server=web, app_server=app, tls=tls, domain=DOMAIN, **answers)
    populate_uv_cache(project, tmp_path)
    sandbox = Sandbox(tmp_path / "sandbox")
    try:
        yield Site(sandbox=sandbox, answers=load_answers(project), project=project)
    finally:
        sandbox.close()


def origin(site: Site) -> tuple[str, list[str]]:
    """Base URL of the site and the curl options that reach it by its name."""
    if site.answers["tls"] == "none":
        return f"http://{DOMAIN}", ["--resolve", f"{DOMAIN}:80:127.0.0.1"]
    return f"https://{DOMAIN}", ["--resolve", f"{DOMAIN}:443:127.0.0.1",
                                 "--cacert", str(site.sandbox.workdir / "tls" / "cert.pem")]


def start(site: Site, prepare: Callable[[Site], None] | None = None) -> None:
    """Install the release and the site, then start the servers; `prepare` changes the
    installed release first."""
    install_release(site)
    if site.answers["database"] == "sqlite":
        install_sqlite_database(site)
    if site.answers["tls"] != "none":
        install_certificate(site, site.sandbox.workdir)
    if prepare:
        prepare(site)
    install_site(site, site.site_file())
    check = config_test(site)
    assert check.returncode == 0, f"config test failed:\n{check.stdout}{check.stderr}"
    if site.app != "mod_wsgi":
        start_app_server(site)
    start_web_server(site)


@pytest.mark.parametrize("site", COMBOS, ids=[combo_id(*c) for c in COMBOS], indirect=True)
def test_site_serves_the_app_through_the_real_servers(site):
    start(site)
    base, reach = origin(site)
    sb = site.sandbox

    page = sb.curl(f"{base}/", *reach)
    assert page.status == 200, page
    assert b"<h1>My Flask App</h1>" in page.body
    for name, value in SECURITY_HEADERS.items():
        assert page.header(name) == value, f"{name} on /: {page.headers}"
    # The web server names itself without a version; the app server stays hidden.
    assert page.header("server") in {"nginx", "Apache", "lighttpd"}, page.headers

    health = sb.curl(f"{base}/healthz", *reach)
    assert health.status == 200, health
    assert json.loads(health.body) == {"status": "ok", "release": "r1", "failures": {}}

    # Static files come from the web server: Flask's static route would add
    # Content-Disposition, and with the app server stopped they are still served.
    static = sb.curl(f"{base}/static/style.css", *reach)
    assert static.status == 200, static
    assert static.header("content-type").startswith("text/css")
    assert static.header("content-disposition") is None, static.headers
    assert b"Served by the web server itself" in static.body
    assert static.header("x-content-type-options") == "nosniff"

    # The client cannot make the app believe another address, host or scheme: every
    # forwarding header it sends is replaced or dropped by the web server.
    forged = [f"{name}: {value}"
              for name, value in {**FORGED_FORWARDING, **FORGED_SPELLINGS}.items()]
    whoami = sb.curl(f"{base}/_whoami", *reach, *[a for h in forged for a in ("--header", h)])
    assert whoami.status == 200, whoami
    seen = json.loads(whoami.body)
    assert {k: seen[k] for k in ("remote_addr", "scheme", "host")} == {
        "remote_addr": "127.0.0.1", "scheme": base.split(":")[0], "host": DOMAIN}
    received = {name.lower(): value for name, value in seen["headers"].items()}
    # What the app reads under a forwarding header's name (a "X.Forwarded.For" that
    # reaches gunicorn as its own header is never read as X-Forwarded-For).
    leaked = {name: value for name, value in received.items()
              if name in map(str.lower, FORGED_FORWARDING)
              and any(mark in value for mark in ("6.6.6.6", "evil.example", "gopher"))}
    assert not leaked, seen["headers"]
    # lighttpd's proxy also names the real host.
    set_by_the_web_server = {"x-forwarded-for": "127.0.0.1",
                             "x-forwarded-proto": base.split(":")[0], "x-forwarded-host": DOMAIN}
    for name in map(str.lower, FORGED_FORWARDING):
        if name != "forwarded":  # lighttpd sets its own, checked for leaks above
            assert received.get(name) in (None, "", set_by_the_web_server.get(name)), (
                name, received)

    # Another Host name gets nothing from this site.
    other = sb.curl(base.replace(DOMAIN, "other.example.net") + "/",
                    *[o.replace(DOMAIN, "other.example.net") for o in reach], "--insecure")
    assert other.status in (None, 400, 403, 421, 444), other
    assert b"My Flask App" not in other.body

    # A body over the limit is refused before it reaches the app.
    limit = int(site.answers["max_body_size_mb"]) * 1024 * 1024
    big = site.sandbox.workdir / "big-body"
    big.write_bytes(b"x" * (limit + 1))
    upload = sb.curl(f"{base}/", *reach, "--data-binary", f"@{big}")
    assert upload.status == 413, upload

    if site.app != "mod_wsgi":
        # SIGTERM to the master only, as systemd's KillMode=mixed does.
        sb.run(["pkill", "--oldest", "-f", site.app], check=False)
        sb.wait_until("app server stop", lambda: sb.curl(f"{base}/healthz", *reach).status
                      in (502, 503, 500, None))
        assert sb.curl(f"{base}/static/style.css", *reach).status == 200


# Request bodies are handled the same behind TLS and without: plain HTTP is enough.
BODY_COMBOS = [(web, app, "none") for web, app in SERVER_PAIRS]


@pytest.mark.parametrize("site", BODY_COMBOS, ids=[combo_id(*c) for c in BODY_COMBOS],
                         indirect=True)
def test_chunked_request_bodies_are_limited_by_the_web_server_and_reach_the_app_whole(site):
    """A chunked upload (no Content-Length) over the limit gets 413 from the web server
    and never reaches the app; one under the limit reaches the app byte for byte."""
    start(site)
    base, reach = origin(site)
    sb = site.sandbox
    limit = int(site.answers["max_body_size_mb"]) * 1024 * 1024
    log = ECHO_LOG.format(slug=site.slug)

    def upload(size: int):
        # Random bytes from a fixed seed: no repeating pattern a cut or a reordered
        # chunk could hide in.
        body = random.Random(size).randbytes(size)  # noqa: S311 - test data, not a secret
        path = sb.workdir / f"body-{size}"
        path.write_bytes(body)
        response = sb.curl(f"{base}/_echo", *reach, "--header", "Transfer-Encoding: chunked",
                           "--header", "Content-Type: application/octet-stream",
                           "--data-binary", f"@{path}", timeout=30)
        return body, response

    def calls() -> str:
        return sb.run(["sh", "-c", f"cat {log} 2>/dev/null || true"]).stdout

    # What each upload got back, and what the app noted reading (see ECHO_LOG): all
    # three are gathered first so a failure shows the whole picture.
    seen, expected, details = {}, {}, {}
    cases = {"1 byte over": limit + 1, "3 times the limit": 3 * limit,
             "1 KiB under": limit - 1024}
    for case, size in cases.items():
        before = calls()
        body, response = upload(size)
        echoed = json.loads(response.body) if response.status == 200 else {}
        intact = (echoed.get("length"), echoed.get("sha256")) == (
            len(body), hashlib.sha256(body).hexdigest())
        seen[case] = (response.status, calls()[len(before):], intact)
        details[case] = echoed or response.error or response.body[:200]
        expected[case] = ((200, f"called\nread {size}\n", True) if size <= limit
                          else (413, "", False))
    assert seen == expected, "\n".join(f"{case}: {seen[case]} {details[case]}"
                                        for case in cases)
    if site.web in ("nginx", "lighttpd"):
        # They read the whole body before passing it on, and pass its length.
        assert details["1 KiB under"]["content_length"] == str(cases["1 KiB under"])


TLS_COMBOS = [c for c in COMBOS if c[2] != "none"]


@pytest.mark.parametrize("site", TLS_COMBOS, ids=[combo_id(*c) for c in TLS_COMBOS],
                         indirect=True)
def test_https_site_redirects_plain_http_and_refuses_old_tls(site):
    start(site)
    base, reach = origin(site)
    sb = site.sandbox

    page = sb.curl(f"{base}/", *reach)
    assert page.status == 200, page
    assert page.header("strict-transport-security") == "max-age=63072000", page.headers

    redirect = sb.curl(f"http://{DOMAIN}/some/path?q=1", "--resolve", f"{DOMAIN}:80:127.0.0.1")
    assert redirect.status == 301, redirect
    assert redirect.header("location") == f"https://{DOMAIN}/some/path?q=1"

    # certbot's renewal challenges stay reachable over plain HTTP.
    token = "renewal-token-123"
    sb.write(f"{computed(site, 'acme_webroot')}/.well-known/acme-challenge/{token}", "proof\n")
    challenge = sb.curl(f"http://{DOMAIN}/.well-known/acme-challenge/{token}",
                        "--resolve", f"{DOMAIN}:80:127.0.0.1")
    assert (challenge.status, challenge.body) == (200, b"proof\n"), challenge

    # A client willing to speak TLS 1.0/1.1 is refused; TLS 1.2 works.
    for version in ("-tls1", "-tls1_1"):
        old = sb.run(["openssl", "s_client", "-connect", "127.0.0.1:443", "-servername",
                      DOMAIN, version, "-cipher", "DEFAULT@SECLEVEL=0"], check=False,
                     input="", timeout=20)
        assert "Cipher is (NONE)" in old.stdout or old.returncode != 0, old.stdout
    modern = sb.run(["openssl", "s_client", "-connect", "127.0.0.1:443", "-servername",
                     DOMAIN, "-tls1_2"], check=False, input="", timeout=20)
    assert "Protocol  : TLSv1.2" in modern.stdout, modern.stdout


def handshake(site, *args: str):
    return site.sandbox.run(["openssl", "s_client", "-connect", "127.0.0.1:443", *args],
                            check=False, input="", timeout=20)


@pytest.mark.parametrize("site", TLS_COMBOS, ids=[combo_id(*c) for c in TLS_COMBOS],
                         indirect=True)
def test_tls_offers_mozillas_intermediate_groups_only(site):
    start(site)
    for group in ("X25519", "prime256v1", "secp384r1"):
        agreed = handshake(site, "-servername", DOMAIN, "-groups", group)
        assert "Cipher is (NONE)" not in agreed.stdout and agreed.returncode == 0, agreed.stdout
    for group in ("X448", "secp521r1", "ffdhe2048"):
        refused = handshake(site, "-servername", DOMAIN, "-groups", group)
        assert "Cipher is (NONE)" in refused.stdout or refused.returncode != 0, (
            group, refused.stdout)


@pytest.mark.parametrize("site", TLS_COMBOS, ids=[combo_id(*c) for c in TLS_COMBOS],
                         indirect=True)
def test_the_sites_certificate_goes_only_to_clients_that_ask_for_its_domain(site):
    start(site)
    own = handshake(site, "-servername", DOMAIN)
    assert f"CN = {DOMAIN}" in own.stdout, own.stdout
    for args in (["-servername", "other.example.org"], ["-noservername"]):
        other = handshake(site, *args)
        assert DOMAIN not in other.stdout, (args, other.stdout)


LETSENCRYPT_COMBOS = [c for c in COMBOS if c[2] == "letsencrypt" and c[1] != "uwsgi"]


@pytest.mark.parametrize("site", LETSENCRYPT_COMBOS,
                         ids=[combo_id(*c) for c in LETSENCRYPT_COMBOS], indirect=True)
def test_acme_site_loads_before_the_certificate_exists(site):
    """First provisioning: the full site cannot load yet, the ACME site can and does."""
    install_release(site)
    install_site(site, site.site_file())
    assert config_test(site).returncode != 0, "the HTTPS site loaded without its certificate"

    install_site(site, site.site_file(f"{site.slug}-acme"))
    check = config_test(site)
    assert check.returncode == 0, f"ACME site config test failed:\n{check.stdout}{check.stderr}"
    sb = site.sandbox
    sb.start("web", FOREGROUND[site.web])
    token = "first-issue-token"
    sb.write(f"{computed(site, 'acme_webroot')}/.well-known/acme-challenge/{token}", "proof\n")
    reach = ["--resolve", f"{DOMAIN}:80:127.0.0.1"]
    sb.wait_until("ACME site", lambda: sb.curl(f"http://{DOMAIN}/", *reach).status is not None)
    challenge = sb.curl(f"http://{DOMAIN}/.well-known/acme-challenge/{token}", *reach)
    assert (challenge.status, challenge.body) == (200, b"proof\n"), challenge
    # Nothing else is served until HTTPS is up.
    page = sb.curl(f"http://{DOMAIN}/", *reach)
    assert page.status in (403, 503), page
    assert b"My Flask App" not in page.body


@pytest.mark.parametrize("site", [("nginx", "gunicorn", "none", "sqlite")],
                         ids=["nginx-gunicorn-none-sqlite"], indirect=True)
def test_a_note_posted_through_the_real_servers_is_written_to_sqlite_and_read_back(site):
    start(site)
    base, reach = origin(site)
    sb = site.sandbox
    database = computed(site, "sqlite")
    jar = ["--cookie-jar", "/run/cookies", "--cookie", "/run/cookies"]

    health = sb.curl(f"{base}/healthz", *reach)
    assert health.status == 200, health
    assert json.loads(health.body) == {"status": "ok", "release": "r1", "failures": {}}

    form = sb.curl(f"{base}/notes", *reach, *jar)
    assert form.status == 200, form
    token = re.search(rb'name="csrf_token" value="([^"]+)"', form.body)
    assert token, form.body
    posted = sb.curl(f"{base}/notes", *reach, *jar, "--data-urlencode", "text=Stored by nginx",
                     "--data-urlencode", f"csrf_token={token[1].decode()}")
    assert (posted.status, posted.header("location")) == (303, "/notes"), posted
    listed = sb.curl(f"{base}/notes", *reach, *jar)
    assert listed.status == 200 and b"Stored by nginx" in listed.body, listed
    # Without the form's token (another site's form): refused, nothing written.
    forged = sb.curl(f"{base}/notes", *reach, "--data-urlencode", "text=forged")
    assert forged.status == 400, forged

    # In the file under shared/, owned by the service user, in WAL mode.
    query = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
             "print(c.execute('PRAGMA journal_mode').fetchone()[0]); "
             "print(c.execute('SELECT text FROM notes').fetchall())")
    stored = sb.run([f"{site.current}/.venv/bin/python", "-c", query, database])
    assert stored.stdout.splitlines() == ["wal", "[('Stored by nginx',)]"], stored
    owner = sb.run(["stat", "-c", "%U %a", database, str(Path(database).parent)])
    user = site.answers["service_user"]
    assert owner.stdout.split("\n")[:2] == [f"{user} 644", f"{user} 700"], owner.stdout
