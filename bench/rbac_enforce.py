"""Cost of one RBAC decision: 100 policy lines in argocd-rbac-cm, 10 projects with roles.

Prints microseconds per call for a first decision (Casbin evaluates every line) and a
repeated one (memoised), against the built-in policy alone as the baseline measured in
the same run. Run: ``.venv/bin/python -m bench.rbac_enforce`` (no cluster, not in ``make bench``).
"""

from __future__ import annotations

import time

from gitward.model.project import parse_project
from gitward.server.auth import Principal
from gitward.server.auth.rbac import RbacEnforcer
from gitward.server.auth.rbac_policy import parse_rbac_cm

CALLS = 2000


def _projects() -> list[object]:
    out = []
    for i in range(10):
        name = f"team-{i}"
        out.append(
            parse_project(
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "AppProject",
                    "metadata": {"name": name, "namespace": "argocd"},
                    "spec": {
                        "roles": [
                            {
                                "name": "ci",
                                "policies": [
                                    f"p, proj:{name}:ci, applications, get, {name}/*, allow",
                                    f"p, proj:{name}:ci, applications, sync, {name}/*, allow",
                                ],
                                "groups": [f"group-{i}"],
                            }
                        ]
                    },
                }
            )
        )
    return out


def _enforcer(lines: int) -> RbacEnforcer:
    policy = (
        "\n".join(
            f"p, user-{i}, applications, {('get', 'sync', 'delete')[i % 3]}, team-{i % 10}/*, allow"
            for i in range(lines - 10)
        )
        + "\n"
        + "\n".join(f"g, user-{i}, role:readonly" for i in range(10))
    )
    enforcer = RbacEnforcer(parse_rbac_cm({"data": {"policy.csv": policy}}))
    enforcer.set_projects(_projects())  # type: ignore[arg-type]
    return enforcer


def _measure(enforcer: RbacEnforcer, cached: bool) -> float:
    principals = [Principal(f"user-{i}") for i in range(50)] + [
        Principal(f"proj:team-{i}:ci") for i in range(10)
    ]
    if cached:
        for n in range(CALLS):
            p = principals[n % len(principals)]
            enforcer.allowed(p, "applications", "sync", f"team-{n % 10}/app-0")
    start = time.perf_counter()
    for n in range(CALLS):
        p = principals[n % len(principals)]
        obj = f"team-{n % 10}/app-{n if not cached else 0}"
        if cached:
            enforcer.allowed(p, "applications", "sync", obj)
        else:
            enforcer._decide(p, "applications", "sync", obj)
    return (time.perf_counter() - start) / CALLS * 1e6


def main() -> None:
    base = RbacEnforcer()
    full = _enforcer(100)
    print(f"built-in policy only, first decision: {_measure(base, False):8.1f} us/call")
    print(f"100 lines + 10 projects, first decision: {_measure(full, False):8.1f} us/call")
    print(f"100 lines + 10 projects, memoised:       {_measure(full, True):8.1f} us/call")


if __name__ == "__main__":
    main()
