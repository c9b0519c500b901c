"""The naive tutorial recipe the benchmarks measure the generated project against."""

NAIVE_DOMAIN = "naive.example.com"
# The tutorial's nginx site, as the seed article gives it.
NAIVE_SITE = f"""server {{
    listen 80;
    server_name {NAIVE_DOMAIN};

    location / {{
        proxy_pass http://127.0.0.1:8000;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
    }}
}}
"""


def naive_unit(app_dir: str, user: str, env_file: str, package: str) -> str:
    """What a tutorial's systemd unit looks like: no socket, stop then start."""
    return (f"[Unit]\nDescription=naive gunicorn\nAfter=network.target\n\n[Service]\n"
            f"User={user}\nWorkingDirectory={app_dir}\nEnvironmentFile={env_file}\n"
            f"ExecStart={app_dir}/.venv/bin/python -m gunicorn -w 4 -b 127.0.0.1:8000 "
            f"{package}.wsgi:app\n\n[Install]\nWantedBy=multi-user.target\n")

