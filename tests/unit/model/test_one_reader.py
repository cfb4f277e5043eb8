"""Each shared field rule is written once: no module spells Argo CD's group version or the
in-cluster server itself, and no module reads duration suffixes on its own."""

from __future__ import annotations

import re
from pathlib import Path

import gitward

ROOT = Path(gitward.__file__).parent
#: The sync operation's module is being rewritten elsewhere and still names the group version.
PENDING = {"sync/operation.py"}


def _sources() -> list[tuple[str, str]]:
    return [
        (str(path.relative_to(ROOT)), path.read_text())
        for path in sorted(ROOT.rglob("*.py"))
        if str(path.relative_to(ROOT)) not in PENDING
    ]


def _offenders(pattern: str, home: set[str]) -> list[str]:
    found = re.compile(pattern)
    return [name for name, text in _sources() if name not in home and found.search(text)]


def test_the_group_version_is_named_only_in_model_kinds() -> None:
    assert _offenders(r'"argoproj\.io/v1alpha1"', {"model/kinds.py"}) == []


def test_the_in_cluster_server_is_named_only_in_model_destination() -> None:
    # localkube's certificates name the service's DNS names, not the server URL.
    home = {"model/destination.py"}
    assert _offenders(r'"https://kubernetes\.default\.svc"', home) == []


def test_no_module_reads_duration_suffixes_but_model_durations() -> None:
    pattern = r'endswith\("(ms|s|m|h|d)"\)|\("ms", 0\.001\)'
    assert _offenders(pattern, {"model/durations.py"}) == []
