"""Entry point for Apache mod_wsgi: WSGIScriptAlias in deploy/apache/{{ cookiecutter.project_slug }}.conf.

mod_wsgi runs the app in Apache's daemon processes, which systemd's EnvironmentFile never
reaches, so the environment file is read here (python-dotenv; variables already set in
the environment win). No interpolation, as systemd does none: a `$` in a secret stays
a `$`.
"""

import os
import shutil
from pathlib import Path

from dotenv import load_dotenv

load_dotenv("{{ cookiecutter.install_path }}/shared/app.env", override=False, interpolate=False)
# /healthz answers 503 "draining" while this file exists: a deploy makes it for a few
# seconds before the daemons restart, so load balancers stop sending here first.
os.environ.setdefault("FLASK_DRAIN_FILE", "/run/{{ cookiecutter.project_slug }}-draining")

# Prometheus metrics from every daemon process (src/{{ cookiecutter.package_name }}/metrics.py): each one
# writes its numbers to files in one directory and /metrics adds them up. Under gunicorn
# and uWSGI systemd gives the app a fresh directory at each start; here `make provision`
# makes {{ cookiecutter.__metrics_dir }} (systemd-tmpfiles, owned by {{ cookiecutter.service_user }}) and each start of
# Apache gets a directory of its own in it, named after Apache's main process (the daemons'
# parent, the same until Apache stops: a graceful reload or a deploy keeps the counts).
# Directories of Apache processes that are gone are removed, and so are the gauges of
# daemon processes that are gone (app_info would name the release they ran).
METRICS = Path("{{ cookiecutter.__metrics_dir }}")


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user (Apache's main process is root)
        return True
    return True


if METRICS.is_dir() and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
    own = METRICS / str(os.getppid())
    for old in METRICS.iterdir():
        if old != own and old.name.isdigit() and not is_running(int(old.name)):
            shutil.rmtree(old, ignore_errors=True)
    own.mkdir(mode=0o700, exist_ok=True)
    for gauge in own.glob("gauge_*.db"):  # gauge_<mode>_<pid>.db
        pid = gauge.stem.rpartition("_")[2]
        if pid.isdigit() and not is_running(int(pid)):
            gauge.unlink(missing_ok=True)
    # Read once, when prometheus_client is imported: set before the app imports it.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(own)

from {{ cookiecutter.package_name }}.wsgi import app as application  # noqa: E402 - needs the environment first

__all__ = ["application"]
