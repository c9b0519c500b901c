"""Gunicorn settings for {{ cookiecutter.project_name }}.

Used by the systemd service on the servers and by `make serve` locally. Override any
setting for one run without editing this file, e.g.
    GUNICORN_CMD_ARGS="--bind 127.0.0.1:8000 --workers 2" gunicorn -c deploy/gunicorn.conf.py
Reference: https://docs.gunicorn.org/en/stable/settings.html
"""

import os

wsgi_app = "{{ cookiecutter.package_name }}.wsgi:app"

# Only the local web server talks to gunicorn, over a unix socket: never a TCP port on
# 0.0.0.0, where sync workers can be stalled by a handful of slow clients. Under systemd
# the socket is held by {{ cookiecutter.project_slug }}.socket and handed over (LISTEN_FDS), which
# overrides this path and lets restarts queue requests instead of refusing them.
{% if cookiecutter.__container_files %}
# The container image gives its own addresses in GUNICORN_CMD_ARGS (--bind), which
# gunicorn reads after this file.
{% endif %}
bind = ["unix:{{ cookiecutter.__app_socket_path }}"]

# Sync workers handle one request each; 2 per CPU core + 1 keeps the cores busy while
# some workers wait on I/O (the database, an API). On 2 cores serving a page that waits
# on nothing, 3, 4 and 5 workers were within 7% of each other, so the rule costs
# nothing when there is no waiting. GUNICORN_WORKERS overrides it (e.g. on a small VPS
# short of memory: each worker holds a copy of the app, or in a container, where the
# cores counted are the host's, not the container's CPU limit).
cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * (cores or 1) + 1))

# A worker silent for this long is killed and replaced (seconds).
timeout = 30
# On stop/reload, workers get this long to finish requests already in flight.
graceful_timeout = 20
# Workers are not recycled after N requests (gunicorn's max_requests is off): a new
# worker imports the whole app again (about 1 s of CPU for this one on a small VPS), and
# recycling every 2,000 requests cost about 15% of the throughput and tripled p99 in
# bench/run. If the app leaks memory, set it here with a jitter, e.g.
# max_requests = 20000 and max_requests_jitter = 2000.
max_requests = 0

# Worker heartbeat files on tmpfs: a heartbeat on a slow disk can look like a hung worker.
SHARED_MEMORY = "/dev/shm"  # noqa: S108 - gunicorn's documented choice, not a temp file
worker_tmp_dir = SHARED_MEMORY if os.path.isdir(SHARED_MEMORY) else None

# X-Forwarded-Proto is honoured only from these peers (unix-socket peers are always
# trusted by gunicorn, and only the web server can reach the socket).
forwarded_allow_ips = "127.0.0.1,::1"
# The one scheme header the web server sets. Gunicorn's default also reads
# X-Forwarded-Ssl and X-Forwarded-Protocol, and answers 400 when they disagree.
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}

# Errors go to stderr, i.e. the systemd journal. No access log here: the web server
# already logs every request with the client's address, and a second log line per
# request costs the workers measurable throughput. For request timings, enable it for
# a while with GUNICORN_CMD_ARGS="--access-logfile -".
errorlog = "-"

# Prometheus metrics (src/{{ cookiecutter.package_name }}/metrics.py): each worker keeps its numbers in
# files under PROMETHEUS_MULTIPROC_DIR, which the systemd unit sets and empties at each
# start. A worker that exits is marked dead there, so its live gauges stop counting
# (its counters keep counting: the totals must not fall when a worker is replaced).


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


# Gunicorn 23+ opens a control socket in ~/.gunicorn by default, shared by every
# instance of the same user (one instance's exit deletes another's) and unwritable
# under systemd's read-only home. This app does not use it.
control_socket_disable = True
