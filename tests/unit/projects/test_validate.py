"""What a project must pass before it is written: every field named when it is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.model.errors import ConfigError
from gitward.projects.validate import validate_project

Obj = dict[str, Any]
IN_CLUSTER = "https://kubernetes.default.svc"


def project(**spec: Any) -> Obj:
    base: Obj = {
        "sourceRepos": ["https://github.com/org/*"],
        "destinations": [{"server": IN_CLUSTER, "namespace": "team-a"}],
    }
    return {"metadata": {"name": "team-a"}, "spec": {**base, **spec}}


def test_a_good_project_parses() -> None:
    parsed = validate_project(
        project(
            syncWindows=[
                {"kind": "deny", "schedule": "0 10 * * *", "duration": "1h", "clusters": ["*"]}
            ]
        )
    )
    assert parsed.name == "team-a"
    assert len(parsed.sync_windows) == 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"syncWindows": [{"kind": "deny", "schedule": "0 25 * * *", "duration": "1h"}]},
            r"AppProject team-a: spec\.syncWindows\[0\]\.schedule: '0 25 \* \* \*' is not a cron",
        ),
        (
            {
                "syncWindows": [
                    {
                        "kind": "deny",
                        "schedule": "0 1 * * *",
                        "duration": "1h",
                        "timeZone": "Mars/Olympus",
                        "applications": ["*"],
                    }
                ]
            },
            r"spec\.syncWindows\[0\]\.timeZone: 'Mars/Olympus' is not a time zone",
        ),
        (
            {"sourceRepos": ["https://github.com/org/[a"]},
            r"spec\.sourceRepos\[0\]: 'https://github.com/org/\[a' is not a valid pattern "
            r"\(unclosed '\['\)",
        ),
        ({"sourceRepos": ["!*"]}, r"spec\.sourceRepos\[0\]: '!\*' would deny every repository"),
        ({"sourceRepos": ["a", "a"]}, r"spec\.sourceRepos\[1\]: .* listed twice"),
        (
            {"destinations": [{"server": IN_CLUSTER, "namespace": "team-{a"}]},
            r"spec\.destinations\[0\]\.namespace: 'team-\{a' is not a valid pattern",
        ),
        (
            {"destinations": [{"name": "!*", "namespace": "a"}]},
            r"spec\.destinations\[0\]\.name: '!\*' would deny every destination",
        ),
        (
            {
                "destinations": [
                    {"server": IN_CLUSTER, "namespace": "a"},
                    {"server": IN_CLUSTER, "namespace": "a"},
                ]
            },
            r"spec\.destinations\[1\]: destination https://kubernetes\.default\.svc,a is listed",
        ),
        ({"sourceNamespaces": ["x", "x"]}, r"spec\.sourceNamespaces\[1\]"),
        (
            {"clusterResourceWhitelist": [{"group": "[", "kind": "*"}]},
            r"spec\.clusterResourceWhitelist\[0\]\.group",
        ),
        (
            {
                "syncWindows": [
                    {"kind": "deny", "schedule": "0 1 * * *", "duration": "1h", "clusters": ["a"]},
                    {"kind": "deny", "schedule": "0 1 * * *", "duration": "1h", "clusters": ["b"]},
                ]
            },
            r"spec\.syncWindows\[1\]: window deny '0 1 \* \* \*' for 1h is already window 0",
        ),
        (
            {
                "syncWindows": [
                    {"kind": "allow", "schedule": "0 1 * * *", "duration": "1h", "clusters": ["{"]}
                ]
            },
            r"spec\.syncWindows\[0\]\.clusters\[0\]",
        ),
    ],
)
def test_bad_fields_are_named(spec: Obj, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_project(project(**spec))
