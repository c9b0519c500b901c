"""Answers that could break or inject into generated syntax are refused up front.

Driven through the real `copier copy` command line, as a user would type them: a refused
answer must exit non-zero, name the question, say what is allowed, and write nothing.
"""

import sys
from ipaddress import ip_network
from pathlib import Path

import jinja2
import pytest
import yaml
from conftest import ROOT, run

COPIER = Path(sys.executable).with_name("copier")

# (question, bad value, extra answers it needs, words the message must contain)
BAD_ANSWERS = [
    ("project_name", "My App; rm -rf /", {}, "letters, digits, spaces"),
    ("project_name", "", {}, "1-63"),
    ("project_name", "Line\nBreak", {}, "letters, digits, spaces"),
    # A name in another script gives no slug: the message says to answer one.
    ("project_slug", "", {"project_name": "日本語"}, "answer project_slug yourself"),
    ("project_slug", "My_App", {}, "lowercase letters, digits and -"),
    ("project_slug", "-app", {}, "start with a letter"),
    ("project_slug", "app;reboot", {}, "lowercase letters, digits and -"),
    ("project_slug", "../etc", {}, "lowercase letters, digits and -"),
    ("project_slug", "a--b", {}, "two dashes"),
    ("package_name", "class", {}, "Python keyword"),
    ("package_name", "logging", {}, "standard-library module"),
    ("package_name", "flask", {}, "dependency"),
    ("package_name", "my-app", {}, "lowercase letters, digits and _"),
    ("package_name", "1app", {}, "start with a letter"),
    ("description", 'Say "hi"', {}, "no quotes"),
    ("description", "costs $HOME", {}, "$"),
    ("description", "100% fun", {}, "%"),
    ("description", "a {b}", {}, "braces"),
    ("author_name", "Eve`id`", {}, "letters, spaces"),
    ("author_email", "not-an-email", {}, "name@example.com"),
    ("author_email", "a@example.com;reboot", {}, "name@example.com"),
    ("python_version", "3.9", {}, "python_version"),
    ("python_version", "2.7", {}, "python_version"),
    ("domain", "example.com; return 200", {}, "fully qualified domain name"),
    ("domain", "http://example.com", {}, "no scheme"),
    ("domain", "exa mple.com", {}, "no scheme, port, path or spaces"),
    ("domain", "Example.COM", {}, "lowercase"),
    ("domain", "example.com\nserver_name evil", {}, "fully qualified domain name"),
    ("web_server", "caddy", {}, "web_server"),
    # Both given: web_server, asked first, names the conflict.
    ("web_server", "nginx", {"app_server": "mod_wsgi"}, "web_server=apache"),
    ("web_server", "lighttpd", {"app_server": "mod_wsgi"}, "inside Apache"),
    ("app_server", "waitress", {}, "app_server"),
    ("tls", "selfsigned", {}, "tls"),
    ("tls_certificate", "../cert.pem", {"tls": "custom"}, "absolute path"),
    ("tls_certificate", "/etc/ssl/my cert.pem", {"tls": "custom"}, "no spaces"),
    ("tls_certificate_key", "/etc/ssl/../../root/key", {"tls": "custom"}, "no .."),
    ("deploy_hosts", "web1.example.com;reboot", {}, "hostnames or IP addresses"),
    ("deploy_hosts", "-oProxyCommand=evil", {}, "hostnames or IP addresses"),
    ("deploy_hosts", "-oproxycommand", {}, "not a hostname or IP address"),
    ("deploy_hosts", "web1\nweb2", {}, "hostnames or IP addresses"),
    ("deploy_hosts", " , ", {}, "at least one server"),
    ("deploy_user", "root user", {}, "Unix login"),
    ("deploy_user", "-oProxyCommand", {}, "Unix login"),
    ("service_user", "root", {}, "its own user"),
    ("service_user", "deploy", {"deploy_user": "deploy"}, "its own user"),
    ("service_user", "app$(id)", {}, "Unix user name"),
    ("install_path", "/srv/my app", {}, "no spaces"),
    ("install_path", "srv/app", {}, "absolute path"),
    ("install_path", "/srv/../etc/app", {}, "no .."),
    ("install_path", "/srv", {}, "two levels deep"),
    ("install_path", "/etc/myapp", {}, "system directory"),
    ("max_body_size_mb", "1025", {}, "from 1 to 1024"),
    ("max_body_size_mb", "11", {"web_server": "apache", "app_server": "uwsgi"},
     "at most 10 with Apache and uWSGI"),
    ("dev_port", "80", {}, "1024 to 65535"),
    ("dev_port", "70000", {}, "1024 to 65535"),
    ("dev_port", "http", {}, "1024 to 65535"),
    # Names a unit or an account a stock server already has.
    ("project_slug", "ssh", {}, "systemd unit"),
    ("project_slug", "nginx", {}, "systemd unit"),
    ("project_slug", "systemd-resolved", {}, "systemd unit"),
    ("project_slug", "cron", {}, "systemd unit"),
    ("project_slug", "apparmor", {}, "systemd unit"),
    ("service_user", "daemon", {}, "its own user"),
    ("service_user", "sshd", {}, "its own user"),
    ("service_user", "_apt", {}, "its own user"),
    ("service_user", "www-data", {}, "its own user"),
    ("service_user", "nobody", {}, "its own user"),
    ("deploy_user", "root", {}, "not root"),
    ("install_path", "/home/app/site", {}, "ProtectHome"),
    ("install_path", "/root/app", {}, "ProtectHome"),
    ("install_path", "/tmp/app", {}, "other users can write"),
    ("install_path", "/var/tmp/app", {}, "other users can write"),
    ("install_path", "/dev/shm/app", {}, "system directory"),
    ("install_path", "/run/app", {}, "system directory"),
    ("database", "mysql", {}, "database"),
    # Each address lands in the web server's allow list for /metrics.
    ("metrics_allow", "10.0.0.5; allow all", {}, "IP addresses or networks"),
    ("metrics_allow", "10.0.0.256", {}, "not an IP address"),
    ("metrics_allow", "10.0.0.0/33", {}, "prefix length"),
    ("metrics_allow", "fd00::/129", {}, "prefix length"),
    ("metrics_allow", "a:::b", {}, "not an IP address"),
    ("metrics_allow", "1:2", {}, "not an IP address"),
    ("metrics_allow", "12345::1", {}, "not an IP address"),
    ("metrics_allow", ":1::2", {}, "not an IP address"),
    ("metrics_allow", "1:2:3:4:5:6:7:8:9", {}, "not an IP address"),
    # SQLite is a file on one machine: several servers would each have their own data.
    # Both given: deploy_hosts, asked first, names the conflict.
    ("deploy_hosts", "web1.example.com, web2.example.com", {"database": "sqlite"},
     "SQLite, one file on one machine"),
    ("deploy_hosts", "web1.example.com web2.example.com", {"database": "sqlite"},
     "switch to PostgreSQL too"),
]

# Every text question refuses a trailing newline (Python's $ matches before one), a tab
# and an escape character, with its usual message.
TEXT_QUESTIONS = {
    "project_name": ("My App", {}, "letters, digits, spaces"),
    "project_slug": ("my-app", {}, "lowercase letters, digits and -"),
    "package_name": ("my_app", {}, "lowercase letters, digits and _"),
    "description": ("An app", {}, "use at most 160"),
    "author_name": ("Ann Smith", {}, "letters, spaces"),
    "author_email": ("ann@example.com", {}, "name@example.com"),
    "domain": ("app.example.com", {}, "fully qualified domain name"),
    "tls_certificate": ("/etc/ssl/app.pem", {"tls": "custom"}, "absolute path"),
    "tls_certificate_key": ("/etc/ssl/app.key", {"tls": "custom"}, "absolute path"),
    "deploy_hosts": ("web1.example.com", {}, "hostnames or IP addresses"),
    "deploy_user": ("deploy", {}, "Unix login"),
    "service_user": ("myapp", {}, "Unix user name"),
    "install_path": ("/srv/myapp", {}, "absolute path"),
    "max_body_size_mb": ("10", {}, "whole number of megabytes"),
    "dev_port": ("8000", {}, "1024 to 65535"),
    "metrics_allow": ("10.0.0.5", {}, "IP addresses or networks"),
}
BAD_ANSWERS += [
    (question, good + bad, context, explains)
    for question, (good, context, explains) in TEXT_QUESTIONS.items()
    for bad in ("\n", "\t", "\x1b[31m")
]


@pytest.mark.parametrize(
    ("question", "value", "context", "explains"),
    BAD_ANSWERS,
    ids=[f"{q}={v!r}" for q, v, _, _ in BAD_ANSWERS],
)
def test_bad_answer_is_refused_and_nothing_is_written(tmp_path, question, value, context,
                                                       explains):
    dest = tmp_path / "project"
    args = [str(COPIER), "copy", "--defaults", "--vcs-ref", "HEAD"]
    for key, val in {**context, question: value}.items():
        args += ["--data", f"{key}={val}"]
    result = run([*args, str(ROOT), str(dest)], cwd=tmp_path, timeout=120)

    assert result.returncode != 0, f"{question}={value!r} was accepted"
    # copier prints a traceback first; the last line is the message users read.
    message = result.stderr.strip().splitlines()[-1]
    assert f"'{question}'" in message, message
    assert explains in message, message
    assert not dest.exists(), "a refused answer must not leave a half-written project"



def test_sqlite_is_refused_when_chosen_after_several_servers():
    """At the prompts database comes after deploy_hosts, whose validator cannot see it yet:
    database's own validator refuses sqlite then. (With --data, or on update, deploy_hosts
    refuses first: above, and in test_update.py.)"""
    questions = yaml.safe_load((ROOT / "copier.yml").read_text())
    validator = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(  # noqa: S701
        questions["database"]["validator"])
    refused = validator.render(database="sqlite", deploy_hosts="web1.example.com, web2.example.com")
    assert "SQLite keeps the data in one file on one machine" in refused
    assert "choose database=postgresql" in refused
    for database, hosts in [("sqlite", "web1.example.com"), ("postgresql", "web1 web2"),
                            ("none", "web1 web2")]:
        assert validator.render(database=database, deploy_hosts=hosts).strip() == ""


def test_metrics_allow_takes_exactly_what_the_app_can_read():
    """The app parses the answer with Python's ipaddress when it starts: what the
    validator lets through must parse, or the app would refuse to start."""
    questions = yaml.safe_load((ROOT / "copier.yml").read_text())
    environment = jinja2.Environment(  # noqa: S701
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"])
    validator = environment.from_string(questions["metrics_allow"]["validator"])
    for good in ["10.0.0.5", "192.168.10.0/24", "10.0.0.5/24", "::1", "fd00::/8",
                 "2001:db8::5", "1:2:3:4:5:6:7:8", "fe80::1:2/64", "::"]:
        assert validator.render(metrics_allow=good).strip() == "", good
        ip_network(good, strict=False)
    for bad in ["1:2", "12345::1", ":1::2", "1::2:", "1:2:3:4:5:6:7:8:9", "1::2::3"]:
        assert "not an IP address" in validator.render(metrics_allow=bad), bad
        with pytest.raises(ValueError):
            ip_network(bad, strict=False)
