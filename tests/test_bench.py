"""bench/run cannot rot: a quick run measures everything and prints the ratio table."""

import re

import pytest
from conftest import ROOT, run

pytestmark = pytest.mark.slow


def test_quick_benchmark_prints_every_ratio(tmp_path):
    result = run([str(ROOT / "bench" / "run"), "--quick", "--no-write"], cwd=ROOT, timeout=1200)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for row in ("bootstrap (s", "bootstrap without uv", "bootstrap with pip alone",
                "copier copy --defaults", "copier update, nothing to update",
                "cookiecutter --no-input",
                "GET / through nginx + gunicorn (the default): req/s",
                "GET / through nginx + gunicorn (the default): p99 ms",
                "GET / through nginx + uWSGI: req/s", "GET / through Apache + mod_wsgi: req/s",
                "100 KB static file: req/s", "gunicorn -w 4 alone",
                "first deploy", "release bundle", "redeploy, one idle server",
                "redeploy under load", "rollback"):
        assert re.search(rf"^\| [^|]*{re.escape(row)}.*\|$", result.stdout, re.MULTILINE), row
    ratios = re.findall(r"\| ([0-9.]+)x \|$", result.stdout, re.MULTILINE)
    assert len(ratios) == 12 and all(float(r) > 0 for r in ratios), result.stdout
    # The generated deploy must not lose a request, even in the short run.
    lost = re.search(r"^\| failed requests during a redeploy[^|]*\| (\d+) of (\d+) ",
                     result.stdout, re.MULTILINE)
    assert lost and lost.group(1) == "0" and int(lost.group(2)) > 100, result.stdout
