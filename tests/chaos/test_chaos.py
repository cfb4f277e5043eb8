"""The chaos suite: real faults against a real control plane, git server and controllers.

By default (inside ``make test``) the short form runs: 20 apps, every fault, shorter and
fewer injections, a few minutes. ``make chaos`` sets ``GITWARD_CHAOS_FULL=1`` for the full
run (200 apps, the controller SIGKILLed every 10-30 s for 5 minutes, the git server down
for a minute...), which writes ``bench/results/chaos.json`` and ``docs/reliability.md``.
``GITWARD_CHAOS_FAULTS=git-down,disk-full`` runs only the named faults.

The assertion is the same in both forms: for every fault, every pushed commit deployed,
nothing applied twice, nothing pruned wrongly, no operation stuck, and the fleet converged.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitward.cluster import KubeClient
from gitward.localkube import LocalCluster, Toolchain
from tests.support.chaos import faults, report
from tests.support.chaos.controllers import private_tmpfs_available
from tests.support.chaos.runner import chaos_run

ROOT = Path(__file__).resolve().parents[2]
FULL = os.environ.get("GITWARD_CHAOS_FULL") == "1"

pytestmark = [pytest.mark.cluster, pytest.mark.chaos, pytest.mark.timeout(7200 if FULL else 900)]


async def test_nothing_is_lost_under_faults(
    chaos_kube: KubeClient,
    chaos_cluster: LocalCluster,
    toolchain: Toolchain,
    tmp_path: Path,
) -> None:
    assert private_tmpfs_available(), (
        "the chaos suite needs `unshare --user --map-root-user --mount` (unprivileged user "
        "namespaces) to give each controller a size-limited cache filesystem"
    )
    sizes = faults.FULL if FULL else faults.SHORT
    chosen = faults.by_name(faults.environ_faults())
    figures, problems = await chaos_run(
        chaos_kube, chaos_cluster, toolchain, tmp_path, sizes, chosen
    )
    if FULL:
        report.write(
            figures, ROOT / "bench" / "results" / "chaos.json", ROOT / "docs" / "reliability.md"
        )
    else:
        report.write(figures, tmp_path / "chaos.json", tmp_path / "reliability.md")
    print(report.render(figures))
    assert not problems, "\n".join(problems)
    for fault in figures["faults"]:
        assert fault["deployed"] == fault["pushes"] > 0, fault
        assert fault["applied_twice"] == fault["pruned_wrongly"] == 0, fault
        assert fault["operations_stuck"] == 0, fault
