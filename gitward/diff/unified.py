"""Unified diffs of live vs target YAML, for ``app diff`` and reviews."""

from __future__ import annotations

import difflib

from gitward.diff.compare import ResourceDiff, to_yaml


def unified(diff: ResourceDiff, label: str) -> str:
    """A unified diff from the live object to the target; empty when not modified."""
    if not diff.modified:
        return ""
    before = to_yaml(diff.live).splitlines(keepends=True)
    after = to_yaml(diff.target).splitlines(keepends=True)
    lines = difflib.unified_diff(before, after, fromfile=f"live/{label}", tofile=f"git/{label}")
    text = "".join(lines)
    if diff.removed:
        text += "".join(f"# removed from Git: {p}\n" for p in diff.removed)
    return text
