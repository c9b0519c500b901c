"""Install a generated project into a sandbox the way a server gets it, then start it.

This mirrors what `make provision` and `make deploy` do on a Debian server: the release
under <install_path>/releases with its own venv, `current` pointing at it, the shared
environment file, the service user, the app server, and the site file in the web
server's own configuration directory. The generated files are used unchanged.
"""

import re
import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import require_tool
from sandbox import Sandbox

WEB_SERVER_PACKAGES = {"nginx": "nginx", "apache": "apache2", "lighttpd": "lighttpd"}
WEB_SERVER_BINARIES = {"nginx": "nginx", "apache": "apache2", "lighttpd": "lighttpd"}
# The route the serving tests add to the app to see what it was told about the client.
WHOAMI_ROUTE = '''

@blueprint.get("/_whoami")
def whoami():
    from flask import request

    return {"remote_addr": request.remote_addr, "scheme": request.scheme,
            "host": request.host, "headers": dict(request.headers)}
'''
# The route the request-body tests add: what the app read of a POST body. Each call is
# noted in ECHO_LOG before the body is read, so a test can tell a body the app never saw
# from one the app refused itself.
ECHO_LOG = "/run/{slug}/echo-calls"
ECHO_ROUTE = '''

@blueprint.post("/_echo")
def echo():
    import hashlib

    from flask import request

    with open("{log}", "a") as log:
        log.write("called\\n")
    body = request.get_data()
    with open("{log}", "a") as log:
        log.write(f"read {{len(body)}}\\n")
    return {{"length": len(body), "sha256": hashlib.sha256(body).hexdigest(),
            "content_length": request.environ.get("CONTENT_LENGTH"),
            "transfer_encoding": request.environ.get("HTTP_TRANSFER_ENCODING")}}
'''


@dataclass
class Site:
    sandbox: Sandbox
    answers: dict
    project: Path

    @property
    def slug(self) -> str:
        return self.answers["project_slug"]

    @property
    def web(self) -> str:
        return self.answers["web_server"]

    @property
    def app(self) -> str:
        return self.answers["app_server"]

    @property
    def current(self) -> str:
        return f"{self.answers['install_path']}/current"

    def site_file(self, name: str | None = None) -> Path:
        folder = {"nginx": "nginx", "apache": "apache", "lighttpd": "lighttpd"}[self.web]
        return self.project / "deploy" / folder / f"{name or self.slug}.conf"


def load_answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def computed(site: Site, key: str) -> str:
    """Values copier computes but does not store, derived the same way."""
    a = site.answers
    return {
        "socket": f"/run/{a['project_slug']}/app.sock",
        "acme_webroot": "/var/www/letsencrypt",
        "cert": (a.get("tls_certificate") if a["tls"] == "custom"
                 else f"/etc/letsencrypt/live/{a['domain']}/fullchain.pem"),
        "key": (a.get("tls_certificate_key") if a["tls"] == "custom"
                else f"/etc/letsencrypt/live/{a['domain']}/privkey.pem"),
        "catch-all cert": f"/etc/ssl/certs/{a['project_slug']}-catch-all.pem",
        "catch-all key": f"/etc/ssl/private/{a['project_slug']}-catch-all.key",
        "lighttpd header filter": f"/etc/lighttpd/{a['project_slug']}-request-headers.lua",
        "sqlite": f"{a['install_path']}/shared/data/{a['project_slug']}.sqlite3",
    }[key]


def install_release(site: Site) -> None:
    """User, directories, release with its venv (offline, like a server), env file."""
    sb, a = site.sandbox, site.answers
    user, root = a["service_user"], a["install_path"]
    sb.sh(f"useradd --system --no-create-home --home-dir /nonexistent "
          f"--shell /usr/sbin/nologin {user}")
    release = f"{root}/releases/r1"
    sb.sh(f"mkdir -p {release} {root}/shared; "
          f"tar -C {shlex.quote(str(site.project))} --exclude=./.venv -cf - . "
          f"| tar -C {release} -xf -; ln -sfn releases/r1 {root}/current")
    views = f"{release}/src/{a['package_name']}/views.py"
    echo = ECHO_ROUTE.format(log=ECHO_LOG.format(slug=site.slug))
    sb.sh(f"cat >> {views} <<'EOF'\n{WHOAMI_ROUTE}{echo}EOF")
    # Offline from the host's uv cache: the sandbox has no network, like the servers.
    sb.sh(f"cd {release} && uv sync --locked --offline --no-dev --quiet "
          f"--python /usr/bin/python3", timeout=300)
    sb.sh(f"chown -R root:root {root}; chmod -R go-w,a+rX {root}")
    env = (site.project / "deploy/app.env.example").read_text().replace(
        "FLASK_SECRET_KEY=change-me", f"FLASK_SECRET_KEY={secrets.token_hex(32)}")
    sb.write(f"{root}/shared/app.env", env + "FLASK_RELEASE_ID=r1\n", mode="0640",
             owner=f"root:{user}")
    # What systemd's RuntimeDirectory does for the service: the socket's directory,
    # reachable by the web server's group only.
    sb.sh(f"install -d -o {user} -g www-data -m 0750 /run/{site.slug}")
    # And its RuntimeDirectory for the workers' Prometheus numbers (under mod_wsgi,
    # what provisioning's tmpfiles.d entry makes at boot).
    sb.sh(f"install -d -o {user} -g {user} -m 0700 /run/{site.slug}-metrics")


def install_sqlite_database(site: Site) -> str:
    """database=sqlite: the database's own directory under shared/, writable by the
    service user alone, DATABASE_URL in the environment file, and the migrations run
    as the service user (what a deploy does before the switch). Returns the file."""
    sb, a = site.sandbox, site.answers
    user, root = a["service_user"], a["install_path"]
    database = computed(site, "sqlite")
    sb.sh(f"install -d -o {user} -g {user} -m 0700 {shlex.quote(str(Path(database).parent))}")
    sb.sh(f"echo 'DATABASE_URL=sqlite:///{database}' >> {root}/shared/app.env")
    sb.sh(f"cd {site.current} && set -a && . {root}/shared/app.env && set +a && "
          f"setpriv --reuid={user} --regid={user} --init-groups "
          f".venv/bin/flask --app {a['package_name']}.wsgi db upgrade", timeout=120)
    return database


def start_app_server(site: Site):
    """Run the app server as the service user, from the release, with the env file."""
    a = site.answers
    command = {
        "gunicorn": ".venv/bin/gunicorn -c deploy/gunicorn.conf.py",
        "uwsgi": ".venv/bin/uwsgi --ini deploy/uwsgi.ini",
    }[site.app]
    # The unit's Environment= lines, then the env file over them, as systemd does.
    unit = (site.project / "deploy/systemd" / f"{site.slug}.service").read_text()
    settings = "".join(f"export {name}={shlex.quote(value)}; " for name, value
                       in re.findall(r"^Environment=(\w+)=(.*)$", unit, re.MULTILINE))
    script = (f"cd {site.current} && {settings}set -a && "
              f". {a['install_path']}/shared/app.env && "
              f"set +a && exec setpriv --reuid={a['service_user']} "
              f"--regid={a['service_user']} --init-groups {command}")
    process = site.sandbox.start("app", ["sh", "-c", script])
    socket = computed(site, "socket")
    site.sandbox.wait_until(f"{site.app} socket",
                            lambda: site.sandbox.run(["test", "-S", socket], check=False)
                            .returncode == 0, watch=(("app", process),))
    return process


def install_site(site: Site, site_file: Path) -> None:
    """Enable `site_file` under its own name, replacing this project's other site files
    (the ACME-only site and the full site take turns, as in provisioning)."""
    sb, name = site.sandbox, site_file.stem
    if site.web == "nginx":
        sb.sh(f"rm -f /etc/nginx/sites-enabled/default /etc/nginx/sites-enabled/{site.slug}*")
        sb.write(f"/etc/nginx/sites-available/{name}.conf", site_file.read_text())
        sb.sh(f"ln -sfn ../sites-available/{name}.conf /etc/nginx/sites-enabled/{name}.conf")
    elif site.web == "apache":
        if sb.run(["test", "-e", "/usr/lib/apache2/modules/mod_security2.so"],
                  check=False).returncode != 0:
            pytest.fail("ModSecurity not found: install it with `apt-get install "
                        "--no-install-recommends libapache2-mod-security2` (or run `make test`)")
        # The site file's header names the modules it needs: take them from there.
        modules = re.search(r"^#\s+a2enmod (.+)$", site_file.read_text(), re.MULTILINE)
        assert modules, f"{site_file.name} must say which Apache modules to enable"
        sb.sh(f"a2dissite -q 000-default; rm -f /etc/apache2/sites-enabled/{site.slug}*; "
              f"a2enmod -q {modules.group(1)}")
        sb.write(f"/etc/apache2/sites-available/{name}.conf", site_file.read_text())
        sb.sh(f"a2ensite -q {name}")
    else:
        sb.sh(f"rm -f /etc/lighttpd/conf-enabled/50-{site.slug}*")
        headers = site_file.with_name(f"{site.slug}-request-headers.lua")
        sb.write(computed(site, "lighttpd header filter"), headers.read_text())
        sb.write(f"/etc/lighttpd/conf-available/50-{name}.conf", site_file.read_text())
        sb.sh(f"lighty-enable-mod {name}")


CONFIG_TEST = {
    "nginx": ["nginx", "-t", "-q"],
    "apache": ["apache2ctl", "-t"],
    "lighttpd": ["lighttpd", "-tt", "-f", "/etc/lighttpd/lighttpd.conf"],
}
FOREGROUND = {
    "nginx": ["nginx", "-g", "daemon off;"],
    "apache": ["apache2ctl", "-D", "FOREGROUND"],
    "lighttpd": ["lighttpd", "-D", "-f", "/etc/lighttpd/lighttpd.conf"],
}


def config_test(site: Site):
    return site.sandbox.run(CONFIG_TEST[site.web], check=False)


def start_web_server(site: Site):
    require_tool(WEB_SERVER_BINARIES[site.web], WEB_SERVER_PACKAGES[site.web])
    sb = site.sandbox
    process = sb.start("web", FOREGROUND[site.web])
    port = "443" if site.answers["tls"] != "none" else "80"
    sb.wait_until(f"{site.web} on :{port}",
                  lambda: sb.run(["sh", "-c", f"ss -ltn | grep -q ':{port} '"],
                                 check=False).returncode == 0,
                  watch=(("web", process),))
    return process


def install_certificate(site: Site, workdir: Path) -> Path:
    """A self-signed certificate for the domain at the paths the site file names."""
    require_tool("openssl", "openssl")
    domain = site.answers["domain"]
    sb = site.sandbox
    cert, key = computed(site, "cert"), computed(site, "key")
    local = workdir / "tls"
    local.mkdir(exist_ok=True)
    sb.sh(f"openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN={domain} "
          f"-addext subjectAltName=DNS:{domain} -keyout {local}/key.pem "
          f"-out {local}/cert.pem 2>/dev/null; "
          f"install -D -m 0644 {local}/cert.pem {cert}; install -D -m 0600 {local}/key.pem {key}")
    # What `make provision` makes for clients that name another host (Apache, lighttpd).
    sb.sh(f"mkdir -p /etc/ssl/private && openssl req -x509 -newkey ec -pkeyopt "
          f"ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=default.invalid "
          f"-keyout {computed(site, 'catch-all key')} "
          f"-out {computed(site, 'catch-all cert')} 2>/dev/null")
    return local / "cert.pem"
