"""Cost of one RBAC decision: 100 policy lines in argocd-rbac-cm, 10 projects with roles.

Prints CPU microseconds per call (best of 5 rounds: the machine is shared) for a first
decision and a repeated (memoised) one, beside ``admin``'s first decision on the
built-in policy alone, measured in the same run. Run ``.venv/bin/python -m
bench.rbac_enforce`` (no cluster; not part of ``make bench``).
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


#: Callers of the measured decisions: 50 accounts named in the policy, 10 project tokens.
CALLERS = [Principal(f"user-{i}") for i in range(50)] + [
    Principal(f"proj:team-{i}:ci") for i in range(10)
]


def _measure(enforcer: RbacEnforcer, cached: bool, principals: list[Principal] = CALLERS) -> float:
    return min(_round(enforcer, cached, r, principals) for r in range(5))


def _round(enforcer: RbacEnforcer, cached: bool, round_: int, principals: list[Principal]) -> float:
    if cached:
        for n in range(CALLS):
            p = principals[n % len(principals)]
            enforcer.allowed(p, "applications", "sync", f"team-{n % 10}/app-{round_}-0")
    start = time.process_time()
    for n in range(CALLS):
        p = principals[n % len(principals)]
        obj = f"team-{n % 10}/app-{round_}-{n if not cached else 0}"
        if cached:
            enforcer.allowed(p, "applications", "sync", obj)
        else:
            enforcer._decide(p, "applications", "sync", obj)
    return (time.process_time() - start) / CALLS * 1e6


def main() -> None:
    base = RbacEnforcer()
    full = _enforcer(100)
    admin = [Principal("admin")]
    print(f"built-in policy, admin, first decision:  {_measure(base, False, admin):8.1f} us/call")
    print(f"100 lines + 10 projects, first decision: {_measure(full, False):8.1f} us/call")
    print(f"100 lines + 10 projects, memoised:       {_measure(full, True):8.1f} us/call")


if __name__ == "__main__":
    main()
