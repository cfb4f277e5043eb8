"""Output helpers every command shares: -o validation, JSON/YAML, plain tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import yaml
from rich.markup import escape

from gitward._util.redact import redact_tree
from gitward.cli.console import out
from gitward.model.errors import ConfigError


def check_output(output: str, *allowed: str) -> None:
    """Refuse an unknown -o before any work (a connection test can take seconds)."""
    if output not in ("", *allowed):
        raise ConfigError(f"--output: unknown format {output!r} ({', '.join(allowed)})")


def print_object(obj: Any, output: str) -> None:
    """Machine-readable output: JSON (indented) or YAML in the fields' own order.

    URL user-info is masked (``https://***@host``): a token pasted into a repoURL
    belongs in a repository Secret, and output is where it would be copied from.
    """
    try:
        obj = redact_tree(obj)
        if output == "json":
            text = json.dumps(obj, indent=2) + "\n"
        else:
            text = yaml.safe_dump(obj, sort_keys=False)
    except RecursionError:  # the API server keeps objects nested up to 10,000 levels
        raise ConfigError(
            f"-o {output}: the object is nested too deeply to print (kubectl get -o json can)"
        ) from None
    print(text, end="")


_STATUS_COLOURS = {"Successful": "green", "Failed": "red"}


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns padded to their widest cell, one line per row (like Argo CD's tabwriter).

    Never wraps or truncates: a long MESSAGE runs on, so each row stays one line
    that scripts can grep. Status words are coloured; everything else is literal.
    """
    widths = [max(len(str(c)) for c in column) for column in zip(headers, *rows, strict=True)]
    for row in [headers, *rows]:
        cells = []
        for i, cell in enumerate(row):
            padded = cell.ljust(widths[i]) if i < len(row) - 1 else cell
            colour = _STATUS_COLOURS.get(cell)
            cells.append(f"[{colour}]{padded}[/{colour}]" if colour else escape(padded))
        out.print("  ".join(cells).rstrip())
