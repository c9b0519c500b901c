"""Changing web_server or app_server on a live project: `copier update`, then
`make provision` and `make deploy`, leave one web server serving the new stack, with
what the app trusts of the forwarding headers set by that stack (one booted server)."""

import pytest
from conftest import commit_all, render
from debian_server import Lab
from test_deploy import DOMAIN, Fleet, committed_project
from test_update import copier_update_cli

pytestmark = [pytest.mark.slow, pytest.mark.deploy]

WEB_SERVICES = ["nginx", "apache2", "lighttpd"]
APP_ENV = "/srv/my-flask-app/shared/app.env"


def switch(fleet: Fleet, *answers: str) -> None:
    """`copier update` to the new answers, committed, then provision and deploy."""
    result = copier_update_cli(fleet.project, *answers)
    assert result.returncode == 0, result.stdout + result.stderr
    commit_all(fleet.project, f"copier update {' '.join(answers)}")
    fleet.make("provision")
    fleet.deploy()
    status, body = fleet.get(fleet.servers[0])
    assert status == "200" and "My Flask App" in body, (status, body[:500])


def web_servers(server) -> dict[str, tuple[str, str]]:
    """service -> (is-active, is-enabled) of every web server the server has."""
    states = {}
    for service in WEB_SERVICES:
        active = server.run(f"systemctl is-active {service}", check=False).stdout.strip()
        enabled = server.run(f"systemctl is-enabled {service}", check=False).stdout.strip()
        states[service] = (active, enabled)
    return states


def assert_only_web_server(server, service: str) -> None:
    states = web_servers(server)
    assert states[service] == ("active", "enabled"), states
    for other in set(WEB_SERVICES) - {service}:
        assert states[other][0] != "active" and states[other][1] != "enabled", states


def app_trusts(server) -> str:
    """FLASK_TRUSTED_PROXY_COUNT in the running app server's environment."""
    pid = server.run("systemctl show -P MainPID my-flask-app.service").stdout.strip()
    environ = server.run(f"tr '\\0' '\\n' < /proc/{pid}/environ").stdout
    values = [line.split("=", 1)[1] for line in environ.splitlines()
              if line.startswith("FLASK_TRUSTED_PROXY_COUNT=")]
    assert len(values) == 1, environ
    return values[0]


def test_a_stack_change_leaves_one_web_server_and_the_new_stacks_proxy_trust(
        template_repo, tmp_path):
    source = render(tmp_path / "rendered",
                    data={"tls": "none", "domain": DOMAIN, "deploy_hosts": "web1"},
                    src=template_repo, vcs_ref="v0.1.0")
    project = committed_project(source, tmp_path)
    lab = Lab(tmp_path)
    try:
        fleet = Fleet(lab, project, servers=1)
        server = fleet.servers[0]
        fleet.make("provision")
        fleet.deploy()
        assert_only_web_server(server, "nginx")
        assert app_trusts(server) == "1"
        # What earlier versions of the template wrote into the environment file, where
        # it would override the new stack's value.
        server.run(f"echo FLASK_TRUSTED_PROXY_COUNT=1 >> {APP_ENV}")

        # gunicorn -> uWSGI: uWSGI gets the address and scheme without forwarding headers.
        switch(fleet, "app_server=uwsgi")
        assert app_trusts(server) == "0"
        assert "TRUSTED_PROXY" not in server.run(f"cat {APP_ENV}").stdout
        assert "uwsgi" in server.run("systemctl show -P ExecStart my-flask-app.service").stdout

        # nginx -> lighttpd: nginx stops for good and loses the site.
        switch(fleet, "web_server=lighttpd")
        assert_only_web_server(server, "lighttpd")
        assert server.run("ls /etc/nginx/sites-enabled /etc/nginx/sites-available").stdout \
            .split().count("my-flask-app.conf") == 0

        # lighttpd + uWSGI -> Apache + mod_wsgi: the app's own units go too.
        switch(fleet, "web_server=apache", "app_server=mod_wsgi")
        assert_only_web_server(server, "apache2")
        leftovers = server.run(
            "ls /etc/lighttpd/conf-enabled /etc/lighttpd/conf-available /etc/lighttpd "
            "/etc/systemd/system").stdout.split()
        assert not [name for name in leftovers if "my-flask-app" in name], leftovers
        assert server.run("systemctl is-active my-flask-app.socket my-flask-app.service",
                          check=False).stdout.split() == ["inactive", "inactive"]
    finally:
        lab.close()
