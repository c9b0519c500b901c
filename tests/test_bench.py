"""bench/run cannot rot: a quick run measures everything and prints the ratio table."""

import re

import pytest
from conftest import ROOT, run

pytestmark = pytest.mark.slow

NOTES = "GET /notes, one row from PostgreSQL (the pool vs a connection per request)"


def test_quick_benchmark_prints_every_ratio(tmp_path):
    result = run([str(ROOT / "bench" / "run"), "--quick", "--no-write"], cwd=ROOT, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for row in ("bootstrap (s", "bootstrap without uv", "bootstrap with pip alone",
                "copier copy --defaults", "copier update, nothing to update",
                "each Jinja source compiled once", "its start-up alone",
                "cookiecutter --no-input",
                "GET / through nginx + gunicorn (the default): req/s",
                "GET / through nginx + gunicorn (the default): p99 ms",
                "GET / through nginx + uWSGI: req/s", "GET / through Apache + mod_wsgi: req/s",
                "100 KB static file: req/s", "gunicorn -w 4 alone",
                f"{NOTES}: req/s", f"{NOTES}: p99 ms",
                "first deploy", "release bundle", "redeploy, one idle server",
                "redeploy under load", "rollback",
                "container image rebuild after a code change", "container image size"):
        assert re.search(rf"^\| [^|]*{re.escape(row)}.*\|$", result.stdout, re.MULTILINE), row
    ratios = re.findall(r"\| ([0-9.]+)x \|$", result.stdout, re.MULTILINE)
    assert len(ratios) == 16 and all(float(r) > 0 for r in ratios), result.stdout
    # A page reading the database through the app's pool must beat one that opens a
    # connection per request (about 4x on a 2-core VM), even in the short run.
    notes = re.search(rf"^\| {re.escape(NOTES)}: req/s[^|]*\|[^|]*\|[^|]*\| ([0-9.]+)x \|$",
                      result.stdout, re.MULTILINE)
    assert notes and float(notes.group(1)) > 1, result.stdout
    # The generated deploy must not lose a request, even in the short run.
    lost = re.search(r"^\| failed requests during a redeploy[^|]*\| (\d+) of (\d+) ",
                     result.stdout, re.MULTILINE)
    assert lost and lost.group(1) == "0" and int(lost.group(2)) > 100, result.stdout
