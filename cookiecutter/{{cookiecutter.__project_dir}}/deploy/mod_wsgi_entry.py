"""Entry point for Apache mod_wsgi: WSGIScriptAlias in deploy/apache/{{ cookiecutter.project_slug }}.conf.

mod_wsgi runs the app in Apache's daemon processes, which systemd's EnvironmentFile never
reaches, so the environment file is read here (python-dotenv; variables already set in
the environment win). No interpolation, as systemd does none: a `$` in a secret stays
a `$`.
"""

from dotenv import load_dotenv

load_dotenv("{{ cookiecutter.install_path }}/shared/app.env", override=False, interpolate=False)

from {{ cookiecutter.package_name }}.wsgi import app as application  # noqa: E402 - needs the environment first

__all__ = ["application"]
