"""bench/run cannot rot: a quick run measures everything and prints the ratio table."""

import re

import pytest
from conftest import ROOT, run

pytestmark = pytest.mark.slow


def test_quick_benchmark_prints_every_ratio(tmp_path):
    result = run([str(ROOT / "bench" / "run"), "--quick", "--no-write"], cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for row in ("bootstrap", "copier copy --defaults", "GET /: req/s", "GET /: p99 ms",
                "100 KB static file: req/s", "gunicorn alone"):
        assert re.search(rf"^\| [^|]*{re.escape(row)}.*\|$", result.stdout, re.MULTILINE), row
    ratios = re.findall(r"\| ([0-9.]+)x \|$", result.stdout, re.MULTILINE)
    assert len(ratios) == 5 and all(float(r) > 0 for r in ratios), result.stdout
