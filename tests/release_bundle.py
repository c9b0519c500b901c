"""What a deploy ships to an offline server: the source tree and a wheelhouse.

The wheelhouse holds the project's own wheel and every locked runtime dependency as a
wheel for the server's Python (CPython 3.11 on Debian 12, like this machine's), so the
server installs with `pip --no-index` and needs neither PyPI nor a compiler.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import VENV_BIN, require_tool


def build_wheelhouse(project: Path, dest: Path) -> Path:
    uv = require_tool("uv", "uv (pip: part of the test dependencies)")
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    dest.mkdir(parents=True, exist_ok=True)
    requirements = dest / "requirements.txt"
    subprocess.run([uv, "export", "--frozen", "--no-dev", "--no-emit-project", "--quiet",
                    "--output-file", str(requirements)], cwd=project, env=env, check=True)
    subprocess.run([uv, "build", "--wheel", "--quiet", "--out-dir", str(dest)], cwd=project,
                   env=env, check=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--require-hashes", "-r", str(requirements), "-w", str(dest)],
                   env=env, check=True)
    return dest


def copy_source(project: Path, dest: Path) -> None:
    shutil.copytree(project, dest, ignore=shutil.ignore_patterns(
        ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", "dist", ".git"))
