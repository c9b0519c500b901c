{% raw %}# Built by hooks/build_cookiecutter.py from copier.yml: do not edit.
"""What the Cookiecutter variant's hooks do, with copier.yml's own Jinja.

hooks/build_cookiecutter.py inlines this file into cookiecutter/hooks/pre_gen_project.py
and post_gen_project.py, followed by SPEC (validators, conditional paths and the message,
taken from copier.yml and the template tree) and ANSWERS (the Cookiecutter context). The
validators and conditions are the very templates Copier renders, in an environment set
up like Copier's, so both tools refuse the same answers with the same messages.
"""

import shutil
import sys
from pathlib import Path
from typing import Any

import jinja2


def jinja_env(spec: dict[str, Any]) -> jinja2.Environment:
    """Copier's environment: its envops, strict undefined, Ansible's core filters."""
    try:
        import jinja2_ansible_filters  # noqa: F401  (Copier loads the same filters)
    except ImportError:
        sys.exit("copier-flask-deploy needs jinja2-ansible-filters next to Cookiecutter: "
                 "pip install jinja2-ansible-filters (or pipx inject cookiecutter "
                 "jinja2-ansible-filters)")
    return jinja2.Environment(
        # Validators and paths are plain text, as in Copier: no HTML escaping.
        autoescape=False,  # noqa: S701
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
        **spec["envops"],
    )


def copier_context(spec: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """The names the Copier template uses: answers as they are, computed values
    without the underscores that keep Cookiecutter from asking for them."""
    return {name: answers[key] for name, key in spec["context_keys"].items()}


def first_problem(spec: dict[str, Any], context: dict[str, Any]) -> str | None:
    """The message Copier would stop with, for the first question that fails."""
    env = jinja_env(spec)
    for question in spec["questions"]:
        name = question["name"]
        value = context[name]
        choices = question.get("choices")
        if choices is not None:
            if value not in choices:
                return f"Invalid choice for '{name}': {value!r} is not in {list(choices)}"
            if choices[value] and (message := env.from_string(choices[value])
                                   .render(context).strip()):
                return f"Invalid choice for '{name}': {message}"
        if question.get("validator"):
            message = env.from_string(question["validator"]).render(context).strip()
            if message:
                return f"Validation error for question '{name}': {message}"
    return None


def pre_gen(spec: dict[str, Any], answers: dict[str, Any]) -> int:
    """Refuse bad answers before anything is written; Cookiecutter removes the
    project directory it made when this exits non-zero."""
    problem = first_problem(spec, copier_context(spec, answers))
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


def post_gen(spec: dict[str, Any], answers: dict[str, Any]) -> int:
    """Remove the files and directories Copier would not have written for these
    answers (Cookiecutter cannot skip a path), then say what Copier says."""
    env = jinja_env(spec)
    context = copier_context(spec, answers)
    project = Path.cwd()
    for path_template, condition in spec["conditional_paths"]:
        if env.from_string(condition).render(context) == "keep":
            continue
        path = project / env.from_string(path_template).render(context)
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    # Cookiecutter itself records where it writes; cruft calls Cookiecutter's
    # generate_files() into scratch directories of its own (two per `cruft update`),
    # whose paths would only mislead: it gets no message (the README says what to run).
    if "_output_dir" in answers:
        context["_copier_conf"] = {"dst_path": str(project)}
        print(env.from_string(spec["message_after_copy"]).render(context), end="")
    return 0


import json  # noqa: E402

SPEC = json.loads(r'''{
 "envops": {
  "keep_trailing_newline": true,
  "trim_blocks": true,
  "lstrip_blocks": true
 },
 "context_keys": {
  "reserved_package_names": "_reserved_package_names",
  "reserved_unit_names": "_reserved_unit_names",
  "reserved_unit_families": "_reserved_unit_families",
  "stock_accounts": "_stock_accounts",
  "project_name": "project_name",
  "ascii_project_name": "__ascii_project_name",
  "project_slug": "project_slug",
  "package_name": "package_name",
  "description": "description",
  "author_name": "author_name",
  "author_email": "author_email",
  "python_version": "python_version",
  "domain": "domain",
  "web_server": "web_server",
  "app_server": "app_server",
  "tls": "tls",
  "tls_certificate": "tls_certificate",
  "tls_certificate_key": "tls_certificate_key",
  "deploy_hosts": "deploy_hosts",
  "database": "database",
  "containers": "containers",
  "container_files": "__container_files",
  "deploy_user": "deploy_user",
  "service_user": "service_user",
  "install_path": "install_path",
  "app_server_requirement": "__app_server_requirement",
  "lock_name": "__lock_name",
  "database_pool_size": "__database_pool_size",
  "web_server_label": "__web_server_label",
  "app_server_label": "__app_server_label",
  "app_socket_path": "__app_socket_path",
  "max_body_size_mb": "max_body_size_mb",
  "dev_port": "dev_port",
  "metrics_allow": "metrics_allow",
  "metrics_networks": "__metrics_networks",
  "metrics_dir": "__metrics_dir",
  "max_body_size_bytes": "__max_body_size_bytes",
  "max_body_size_kb": "__max_body_size_kb",
  "apache_modules": "__apache_modules",
  "web_server_service": "__web_server_service",
  "web_server_config_test": "__web_server_config_test",
  "app_server_exec_start": "__app_server_exec_start",
  "server_systems": "__server_systems",
  "cloud_image_aws": "__cloud_image_aws",
  "cloud_image_azure": "__cloud_image_azure",
  "cloud_image_gcp": "__cloud_image_gcp",
  "cloud_image_hetzner": "__cloud_image_hetzner",
  "server_python": "__server_python",
  "server_packages": "__server_packages",
  "static_dir": "__static_dir",
  "sqlite_path": "__sqlite_path",
  "database_backup_suffix": "__database_backup_suffix",
  "acme_webroot": "__acme_webroot",
  "tls_cert_file": "__tls_cert_file",
  "tls_catch_all_cert": "__tls_catch_all_cert",
  "tls_catch_all_key": "__tls_catch_all_key",
  "lighttpd_header_filter": "__lighttpd_header_filter",
  "tls_groups": "__tls_groups",
  "tls_key_file": "__tls_key_file",
  "trusted_proxy_count": "__trusted_proxy_count",
  "container_base_image": "__container_base_image",
  "container_uv_image": "__container_uv_image",
  "container_web_packages": "__container_web_packages",
  "container_web_command": "__container_web_command",
  "container_web_stop_signal": "__container_web_stop_signal",
  "container_uid": "__container_uid",
  "container_postgres_image": "__container_postgres_image"
 },
 "questions": [
  {
   "name": "project_name",
   "validator": "{% if not (project_name | regex_search('^[\\\\w][\\\\w .,_-]{0,62}\\\\Z')) %} use 1-63 letters, digits, spaces or . , _ - (starting with a letter or digit) {% endif %}"
  },
  {
   "name": "project_slug",
   "validator": "{% if not project_slug %} the project name has too few letters a-z to make a slug from (other scripts are not transliterated): answer project_slug yourself, e.g. --data project_slug=my-app {% elif not (project_slug | regex_search('^[a-z][a-z0-9-]{0,30}[a-z0-9]\\\\Z')) %} use 2-32 characters: lowercase letters, digits and - (start with a letter, end with a letter or digit) {% elif '--' in project_slug %} do not use two dashes in a row {% elif project_slug in reserved_unit_names or project_slug.split('-')[0] in reserved_unit_families %} \"{{ project_slug }}\" names a systemd unit a Debian or Ubuntu server already has (or the web server installs): provision would replace it; pick another name {% endif %}"
  },
  {
   "name": "package_name",
   "validator": "{% if not (package_name | regex_search('^[a-z][a-z0-9_]{0,39}\\\\Z')) %} use 1-40 characters: lowercase letters, digits and _ (start with a letter) {% elif package_name in reserved_package_names %} \"{{ package_name }}\" is a Python keyword, a standard-library module or a dependency: pick another name {% endif %}"
  },
  {
   "name": "description",
   "validator": "{% if not (description | regex_search('^[\\\\w .,:()!?/+&_-]{0,160}\\\\Z')) %} use at most 160 letters, digits, spaces and . , : ( ) ! ? / + & _ - (no quotes, $, %, ; or braces) {% endif %}"
  },
  {
   "name": "author_name",
   "validator": "{% if not (author_name | regex_search(\"^[\\\\w][\\\\w .,'-]{0,79}\\\\Z\")) %} use 1-80 letters, spaces and . , ' - (starting with a letter) {% endif %}"
  },
  {
   "name": "author_email",
   "validator": "{% if not (author_email | regex_search('^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?[.])+[a-z]{2,63}\\\\Z')) %} use an address like name@example.com (letters, digits, . _ + - before the @) {% endif %}"
  },
  {
   "name": "python_version",
   "validator": "",
   "choices": {
    "3.11": "",
    "3.12": "",
    "3.13": ""
   }
  },
  {
   "name": "domain",
   "validator": "{% if not (domain | regex_search('^(?=.{4,253}\\\\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?[.])+[a-z]([a-z0-9-]{0,61}[a-z0-9])?\\\\Z')) %} use a lowercase fully qualified domain name like app.example.com (letters, digits, - and dots; no scheme, port, path or spaces) {% endif %}"
  },
  {
   "name": "web_server",
   "validator": "{% if app_server is defined and app_server == 'mod_wsgi' and web_server != 'apache' %} the project runs the app in mod_wsgi, which lives inside Apache: keep web_server=apache, or switch the app server too (--data app_server=gunicorn or uwsgi) {% endif %}",
   "choices": {
    "nginx": "",
    "apache": "",
    "lighttpd": ""
   }
  },
  {
   "name": "app_server",
   "validator": "{% if app_server == 'mod_wsgi' and web_server != 'apache' %} mod_wsgi runs inside Apache, but web_server is \"{{ web_server }}\": choose gunicorn or uwsgi, or web_server=apache {% endif %}",
   "choices": {
    "gunicorn": "",
    "uwsgi": "",
    "mod_wsgi": "{% if web_server != 'apache' %}mod_wsgi runs inside Apache: choose web_server=apache{% endif %}"
   }
  },
  {
   "name": "tls",
   "validator": "",
   "choices": {
    "letsencrypt": "",
    "custom": "",
    "none": ""
   }
  },
  {
   "name": "tls_certificate",
   "validator": "{% if tls == 'custom' and not (tls_certificate | regex_search('^(/[A-Za-z0-9_][A-Za-z0-9._-]*)+\\\\Z')) %} use an absolute path made of letters, digits and . _ - (no spaces, no .. or hidden path parts) {% endif %}"
  },
  {
   "name": "tls_certificate_key",
   "validator": "{% if tls == 'custom' and not (tls_certificate_key | regex_search('^(/[A-Za-z0-9_][A-Za-z0-9._-]*)+\\\\Z')) %} use an absolute path made of letters, digits and . _ - (no spaces, no .. or hidden path parts) {% endif %}"
  },
  {
   "name": "deploy_hosts",
   "validator": "{% set hosts = deploy_hosts.replace(',', ' ').split() %} {% if not (deploy_hosts | regex_search('^[a-z0-9.:, -]*\\\\Z')) %} use hostnames or IP addresses (lowercase letters, digits, - . :) separated by spaces or commas {% elif not hosts %} name at least one server {% elif database is defined and database == 'sqlite' and hosts | length > 1 %} the project keeps its data in SQLite, one file on one machine, so each server would have its own, different data: deploy to one server, or switch to PostgreSQL too (--data database=postgresql) {% else %} {% for host in hosts %} {% if not (host | regex_search('^(([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)([.][a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*|[0-9]{1,3}([.][0-9]{1,3}){3}|[0-9a-f:]*:[0-9a-f:]+)\\\\Z')) %} \"{{ host }}\" is not a hostname or IP address (lowercase letters, digits, - and dots) {% endif %} {% endfor %} {% endif %}"
  },
  {
   "name": "database",
   "validator": "{% if database == 'sqlite' and deploy_hosts.replace(',', ' ').split() | length > 1 %} SQLite keeps the data in one file on one machine, so each server in deploy_hosts would have its own, different data: choose database=postgresql for several servers, or deploy to one {% endif %}",
   "choices": {
    "none": "",
    "postgresql": "",
    "sqlite": ""
   }
  },
  {
   "name": "containers",
   "validator": ""
  },
  {
   "name": "deploy_user",
   "validator": "{% if not (deploy_user | regex_search('^[a-z_][a-z0-9_-]{0,31}\\\\Z')) %} use a Unix login: up to 32 lowercase letters, digits, _ and - (starting with a letter or _) {% elif deploy_user == 'root' %} deploy as a user with sudo, not root (servers should not accept root logins over SSH) {% endif %}"
  },
  {
   "name": "service_user",
   "validator": "{% if not (service_user | regex_search('^[a-z_][a-z0-9_-]{0,31}\\\\Z')) %} use a Unix user name: up to 32 lowercase letters, digits, _ and - (starting with a letter or _) {% elif service_user == deploy_user or service_user in stock_accounts or service_user.startswith('systemd-') %} the app must run as its own user, not \"{{ service_user }}\" (the deploy login or an account a stock server has) {% endif %}"
  },
  {
   "name": "install_path",
   "validator": "{% if not (install_path | regex_search('^(/[A-Za-z0-9_][A-Za-z0-9._-]*){2,}\\\\Z')) %} use an absolute path at least two levels deep, made of letters, digits and . _ - (no spaces, no .. or hidden path parts) {% elif install_path.split('/')[1] in ['bin', 'boot', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'proc', 'run', 'sbin', 'sys', 'usr'] %} do not install into a system directory like /{{ install_path.split('/')[1] }} {% elif install_path.split('/')[1] in ['home', 'root'] %} the app's hardened unit cannot see /{{ install_path.split('/')[1] }} (ProtectHome): use /srv/<name> or /opt/<name> {% elif install_path.split('/')[1] == 'tmp' or install_path.split('/')[1:3] | join('/') in ['var/tmp', 'var/run', 'var/lock', 'var/crash'] %} other users can write to /{{ install_path.split('/')[1:3] | join('/') if install_path.split('/')[1] == 'var' else 'tmp' }}: use /srv/<name> or /opt/<name> {% endif %}"
  },
  {
   "name": "max_body_size_mb",
   "validator": "{% if not (max_body_size_mb | regex_search('^[1-9][0-9]{0,3}\\\\Z'))\n      or max_body_size_mb | int > 1024 %}\nuse a whole number of megabytes from 1 to 1024 {% elif web_server == 'apache' and app_server == 'uwsgi' and max_body_size_mb | int > 10 %} use at most 10 with Apache and uWSGI: Apache holds each upload in memory for uWSGI (up to 400 at once); choose gunicorn or nginx for bigger uploads {% endif %}"
  },
  {
   "name": "dev_port",
   "validator": "{% if not (dev_port | regex_search('^[1-9][0-9]{3,4}\\\\Z')) or (dev_port | int) > 65535 %} use a port from 1024 to 65535 (ports below 1024 need root) {% endif %}"
  },
  {
   "name": "metrics_allow",
   "validator": "{% if metrics_allow and not (metrics_allow | regex_search('^[0-9a-f.:/, ]+\\\\Z')) %} use IP addresses or networks (digits, a-f, . : /) separated by spaces or commas {% else %} {% for net in metrics_allow.replace(',', ' ').split() %} {% set parts = net.split('/') %} {% set ipv4 = parts[0] | regex_search('^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])[.]){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\\\Z') %} {% set groups = parts[0].split(':') %} {% set ipv6 = parts[0] | regex_search('^[0-9a-f:]{2,39}\\\\Z') and ':' in parts[0] and ':::' not in parts[0]\n   and groups | map('length') | max <= 4\n   and (groups | length == 8 and '' not in groups\n        or parts[0].count('::') == 1 and groups | length <= 8\n           and not parts[0] | regex_search('^:[^:]|[^:]:\\\\Z')) %}\n{% if parts | length > 2 or not (ipv4 or ipv6) %} \"{{ net }}\" is not an IP address or network (e.g. 10.0.0.5, 192.168.10.0/24, fd00::/8; lowercase hex for IPv6) {% elif parts | length == 2 and not (parts[1] | regex_search('^(0|[1-9][0-9]{0,2})\\\\Z') and parts[1] | int <= (32 if ipv4 else 128)) %} \"{{ net }}\": the prefix length after / is 0-{{ 32 if ipv4 else 128 }} {% endif %} {% endfor %} {% endif %}"
  }
 ],
 "conditional_paths": [
  [
   "deploy/ansible/roles/database",
   "{% if database != 'none' %}keep{% endif %}"
  ],
  [
   "deploy/ansible/db-backup.yml",
   "{% if database != 'none' %}keep{% endif %}"
  ],
  [
   "deploy/ansible/db-downgrade-servers.yml",
   "{% if database != 'none' %}keep{% endif %}"
  ],
  [
   "deploy/ansible/db-restore.yml",
   "{% if database != 'none' %}keep{% endif %}"
  ],
  [
   "deploy/systemd",
   "{% if app_server != 'mod_wsgi' %}keep{% endif %}"
  ],
  [
   "deploy/gunicorn.conf.py",
   "{% if app_server == 'gunicorn' %}keep{% endif %}"
  ],
  [
   "deploy/mod_wsgi_entry.py",
   "{% if app_server == 'mod_wsgi' %}keep{% endif %}"
  ],
  [
   "deploy/uwsgi.ini",
   "{% if app_server == 'uwsgi' %}keep{% endif %}"
  ],
  [
   "deploy/k8s",
   "{% if container_files %}keep{% endif %}"
  ],
  [
   "deploy/database_backup.py",
   "{% if database != 'none' %}keep{% endif %}"
  ],
  [
   "deploy/certbot-deploy-hook.sh",
   "{% if tls == 'letsencrypt' %}keep{% endif %}"
  ],
  [
   "deploy/apache",
   "{% if web_server == 'apache' %}keep{% endif %}"
  ],
  [
   "deploy/apache/serve-local.conf",
   "{% if app_server == 'mod_wsgi' %}keep{% endif %}"
  ],
  [
   "deploy/apache/{{ project_slug }}-acme.conf",
   "{% if tls == 'letsencrypt' %}keep{% endif %}"
  ],
  [
   "deploy/lighttpd",
   "{% if web_server == 'lighttpd' %}keep{% endif %}"
  ],
  [
   "deploy/lighttpd/{{ project_slug }}-acme.conf",
   "{% if tls == 'letsencrypt' %}keep{% endif %}"
  ],
  [
   "deploy/nginx",
   "{% if web_server == 'nginx' %}keep{% endif %}"
  ],
  [
   "deploy/nginx/{{ project_slug }}-acme.conf",
   "{% if tls == 'letsencrypt' %}keep{% endif %}"
  ],
  [
   "scripts/serve-mod-wsgi.sh",
   "{% if app_server == 'mod_wsgi' %}keep{% endif %}"
  ],
  [
   "src/{{ package_name }}/templates/notes.html",
   "{% if database != 'none' %}keep{% endif %}"
  ],
  [
   "src/{{ package_name }}/extensions.py",
   "{% if database != 'none' %}keep{% endif %}"
  ],
  [
   "src/{{ package_name }}/models.py",
   "{% if database != 'none' %}keep{% endif %}"
  ],
  [
   "src/{{ package_name }}/notes.py",
   "{% if database != 'none' %}keep{% endif %}"
  ],
  [
   "tests/test_database.py",
   "{% if database != 'none' %}keep{% endif %}"
  ],
  [
   "tests/pg_ctl_as_nobody.sh",
   "{% if database == 'postgresql' %}keep{% endif %}"
  ],
  [
   ".dockerignore",
   "{% if container_files %}keep{% endif %}"
  ],
  [
   "Containerfile",
   "{% if container_files %}keep{% endif %}"
  ],
  [
   "compose.yaml",
   "{% if container_files %}keep{% endif %}"
  ],
  [
   "migrations",
   "{% if database != 'none' %}keep{% endif %}"
  ]
 ],
 "message_after_copy": "Your project \"{{ project_name }}\" is ready in {{ _copier_conf.dst_path }}.\n\n  cd {{ _copier_conf.dst_path }}\n  make bootstrap   # venv with the locked dependencies\n  make test        # the app's own tests\n  make run         # development server on http://127.0.0.1:{{ dev_port }}/\n  make help        # every other target\n"
}''')
{% endraw %}ANSWERS = json.loads(r'{{ cookiecutter | tojson }}')
sys.exit(post_gen(SPEC, ANSWERS))
