"""Kubeconfigs for tests that use two clusters at once."""

from __future__ import annotations

from pathlib import Path

import yaml


def merged_kubeconfig(path: Path, *sources: Path) -> Path:
    """One kubeconfig holding every context of ``sources``; the first one's is current."""
    docs = [yaml.safe_load(source.read_text()) for source in sources]
    merged = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [c for d in docs for c in d["clusters"]],
        "users": [u for d in docs for u in d["users"]],
        "contexts": [c for d in docs for c in d["contexts"]],
        "current-context": docs[0]["current-context"],
    }
    path.write_text(yaml.safe_dump(merged))
    path.chmod(0o600)
    return path


def context_of(kubeconfig: Path) -> str:
    return str(yaml.safe_load(kubeconfig.read_text())["current-context"])
