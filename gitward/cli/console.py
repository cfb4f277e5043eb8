"""Shared rich consoles: results on stdout, progress and errors on stderr.

When output is not a terminal (a pipe, a CI log) rich would wrap tables at 80
columns and split every message; there the width is ``$COLUMNS`` or 200.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console


def _width(stream: object) -> int | None:
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty():
        return None  # rich measures the terminal
    try:
        return max(80, int(os.environ.get("COLUMNS", "200")))
    except ValueError:
        return 200


out = Console(highlight=False, soft_wrap=True, width=_width(sys.stdout))
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_width(sys.stderr))
