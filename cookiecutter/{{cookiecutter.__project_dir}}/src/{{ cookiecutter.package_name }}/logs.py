"""Log to stdout: systemd's journal (or your terminal) collects it, no log files to rotate."""

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s [%(name)s] %(message)s"


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    # Keep handlers an app server installed (gunicorn, uWSGI); add ours only once.
    if not any(getattr(handler, "_app_stdout", False) for handler in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler._app_stdout = True  # type: ignore[attr-defined]
        root.addHandler(handler)
