"""Print this Python's full path when it is at least the version given, else say which it is.

Run by scripts/bootstrap.sh and scripts/bootstrap.ps1 with the interpreter they are
about to build the venv with: `python scripts/check_python.py 3.11`. A file rather than
`python -c "..."` because Windows PowerShell 5.1 strips the double quotes inside such
an argument before Python sees it. Old syntax on purpose: any Python must run it.
"""
# printf-style formatting on purpose: an f-string is a syntax error before Python 3.6.
# ruff: noqa: UP031

import platform
import sys

wanted = tuple(int(part) for part in sys.argv[1].split("."))
if sys.version_info[:2] < wanted:
    sys.stderr.write(
        "bootstrap: %s is Python %s; this project needs >= %s\n"
        % (sys.executable, platform.python_version(), sys.argv[1])
    )
    sys.exit(1)
print(sys.executable)
