"""The README's first command works: scripts/demo.sh renders the default project from
this checkout, bootstraps it and serves it until Ctrl-C."""

import contextlib
import os
import subprocess
import time
import urllib.request

import pytest
from conftest import ROOT, ctrl_c_reaches_it, free_port, stop_with_ctrl_c

pytestmark = pytest.mark.slow


def test_demo_renders_bootstraps_and_serves_the_default_project(tmp_path):
    demo, port, log_path = tmp_path / "demo", free_port(), tmp_path / "demo.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "FLASK_"))}
    with log_path.open("w") as log:
        process = subprocess.Popen(
            ["sh", "scripts/demo.sh", f"DEMO={demo}", f"PORT={port}"], cwd=ROOT, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=ctrl_c_reaches_it)
    try:
        deadline, body = time.monotonic() + 180, None
        while body is None and time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError):
                url = f"http://127.0.0.1:{port}/"
                body = urllib.request.urlopen(url, timeout=2).read()  # noqa: S310 - loopback
            time.sleep(0.3)
        assert body is not None, log_path.read_text()
        assert b"My Flask App" in body
    finally:
        stop_with_ctrl_c(process, timeout=30)  # as the README says
    output = log_path.read_text()
    assert "bootstrap: uv sync into .venv (uv from PATH)" in output, output
    assert (demo / ".copier-answers.yml").is_file()
