"""Application parsing: Argo CD's defaults, multi-document files, errors naming file and field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitward.model import (
    Automated,
    ConfigError,
    Destination,
    load_applications,
    parse_application,
)
from gitward.model.application import Backoff

FOUNDING_EXAMPLE = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: myapp-argo-application
spec:
  source:
    repoURL: https://github.com/username/repo.git
    path: dev
  destination:
    server: https://kubernetes.default.svc
    namespace: myapp
  syncPolicy:
    automated:
      selfHeal: true
      prune: true
"""

APP: dict[str, Any] = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "web"},
    "spec": {
        "source": {"repoURL": "https://example.com/r.git", "path": "web"},
        "destination": {"name": "in-cluster", "namespace": "web"},
    },
}


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def app(**spec: Any) -> dict[str, Any]:
    data = copy.deepcopy(APP)
    data["spec"].update(spec)
    return data


def test_founding_example_parses_with_argo_defaults() -> None:
    [a] = load_applications(FOUNDING_EXAMPLE, "app.yaml")
    assert a.name == "myapp-argo-application"
    assert a.namespace == "argocd"
    assert a.project == "default"
    assert a.revision_history_limit == 10
    assert a.source is not None
    assert a.source.repo_url == "https://github.com/username/repo.git"
    assert a.source.path == "dev"
    assert a.source.target_revision == "HEAD"
    assert a.destination == Destination(server="https://kubernetes.default.svc", namespace="myapp")
    assert a.sync_policy is not None
    assert a.sync_policy.automated == Automated(prune=True, self_heal=True)
    assert a.automated
    assert a.effective_sources == (a.source,)
    assert a.raw["metadata"]["name"] == "myapp-argo-application"


def test_multi_source_applications_keep_every_source() -> None:
    a = parse_application(
        app(
            source=None,
            sources=[
                {"repoURL": "https://example.com/charts.git", "path": "chart"},
                {"repoURL": "https://example.com/values.git", "ref": "values"},
            ],
        ),
        "x",
    )
    assert a.has_multiple_sources
    assert [s.repo_url for s in a.effective_sources] == [
        "https://example.com/charts.git",
        "https://example.com/values.git",
    ]
    assert a.sources[1].ref == "values"


def test_sync_policy_retry_and_options() -> None:
    a = parse_application(
        app(
            syncPolicy={
                "automated": {"prune": True, "allowEmpty": True, "enabled": False},
                "syncOptions": ["CreateNamespace=true", "PruneLast=true"],
                "retry": {"limit": 5, "backoff": {"duration": "10s", "factor": 3}},
                "managedNamespaceMetadata": {"labels": {"team": "a"}},
            },
            ignoreDifferences=[{"group": "apps", "kind": "Deployment", "jsonPointers": ["/x"]}],
            revisionHistoryLimit=3,
            project="team",
        ),
        "x",
    )
    policy = a.sync_policy
    assert policy is not None
    assert policy.automated is not None
    assert policy.retry is not None
    assert policy.automated.allow_empty
    assert not policy.automated.enabled
    assert not a.automated
    assert policy.option("CreateNamespace") == "true"
    assert policy.option("Replace") is None
    assert policy.retry.limit == 5
    assert policy.retry.backoff == Backoff(duration="10s", factor=3, max_duration="3m")
    assert [policy.retry.backoff.delay(n) for n in range(4)] == [10.0, 30.0, 90.0, 180.0]
    assert policy.managed_namespace_metadata is not None
    assert policy.managed_namespace_metadata.labels == {"team": "a"}
    assert a.ignore_differences[0]["jsonPointers"] == ["/x"]
    assert (a.revision_history_limit, a.project) == (3, "team")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(kind="AppProject"), "x: expected apiVersion argoproj.io/v1alpha1"),
        (lambda d: d.pop("metadata"), "x: metadata: required"),
        (lambda d: d["metadata"].update(name="Web_1"), "x: metadata.name: 'Web_1' is not a valid"),
        (lambda d: d["spec"].pop("source"), "x: spec.source: required (or spec.sources)"),
        (lambda d: d["spec"].pop("destination"), "x: spec.destination: required"),
        (lambda d: d["spec"]["destination"].pop("name"), "x: spec.destination: set server or name"),
        (
            lambda d: d["spec"]["destination"].update(server="https://k"),
            "x: spec.destination: set server or name, not both",
        ),
        (
            lambda d: d["spec"]["source"].update(helm={"parameters": [{"value": "1"}]}),
            "x: spec.source.helm.parameters[0].name: required",
        ),
        (
            lambda d: d["spec"].update(sources=[{"repoURL": "u"}, {"path": "p"}]),
            "x: spec.sources[1].repoURL: required",
        ),
        (
            lambda d: d["spec"].update(syncPolicy={"retry": {"backoff": {"duration": "soon"}}}),
            "x: spec.syncPolicy.retry.backoff.duration: not a duration",
        ),
        (
            lambda d: d["spec"].update(syncPolicy={"automated": {"prune": "true"}}),
            "x: spec.syncPolicy.automated.prune: expected true or false",
        ),
        (
            lambda d: d["spec"].update(syncPolicy={"automated": {"prune": True, "selfheal": True}}),
            "x: spec.syncPolicy.automated.selfheal: unknown field (gitward reads allowEmpty, ",
        ),
        (
            lambda d: d["spec"].update(syncPolicy={"syncOptions": ["Prune=confirm"]}),
            "x: spec.syncPolicy.syncOptions: sync option Prune=confirm is not supported",
        ),
        (
            lambda d: d["spec"].update(syncPolicy={"syncOptions": ["CreateNamespaces=true"]}),
            "x: spec.syncPolicy.syncOptions: unknown sync option 'CreateNamespaces'",
        ),
        (
            lambda d: d["spec"].update(sourceHydrator={"drySource": {}}),
            "x: spec.sourceHydrator: not supported by gitward",
        ),
        (
            lambda d: d["spec"].update(syncPolicies={}),
            "x: spec.syncPolicies: unknown field (gitward reads destination, ",
        ),
        (
            lambda d: d["spec"].update(syncPolicy={"retry": {"refresh": True}}),
            "x: spec.syncPolicy.retry.refresh: not supported by gitward",
        ),
        (
            lambda d: d["spec"].update(syncPolicy={"retry": {"backoff": {"max": "1m"}}}),
            "x: spec.syncPolicy.retry.backoff.max: unknown field",
        ),
        (
            lambda d: d["spec"]["destination"].update(cluster="x" * 100),
            "x: spec.destination.cluster: unknown field",
        ),
        (
            lambda d: d["spec"]["destination"].update({"y" * 100: 1}),
            "x: spec.destination." + "y" * 61 + "...: unknown field",
        ),
        (
            lambda d: d["spec"].update(revisionHistoryLimit="10"),
            "x: spec.revisionHistoryLimit: expected an integer",
        ),
        (
            lambda d: d["spec"]["source"].update(plugin={"env": [{"name": "A=B"}]}),
            "x: spec.source.plugin.env[0].name: 'A=B' is not an environment variable name",
        ),
        (
            lambda d: d["spec"]["source"].update(repoURL="http://]"),
            "x: spec.source.repoURL: not a valid URL: Invalid IPv6 URL",
        ),
        (
            lambda d: d["spec"]["source"].update(repoURL="https://h:99999/x"),
            "x: spec.source.repoURL: not a valid URL: Port out of range",
        ),
        (
            lambda d: d["spec"]["source"].update(repoURL="https://h/x\n--upload-pack=y"),
            "x: spec.source.repoURL: contains control characters",
        ),
        (
            lambda d: d["spec"]["source"].update(targetRevision="v" * 2000),
            "x: spec.source.targetRevision: longer than 1024 characters",
        ),
        (lambda d: d.update(metadata=[]), "x: metadata: expected a mapping, got a list"),
        (
            lambda d: d["spec"]["source"].update(helm={"valuesObject": _nested(101)}),
            "x: spec.source.helm.valuesObject: nested more than 100 levels deep",
        ),
        (
            lambda d: d["spec"].update(sources=[{"repoURL": "u", "helm": {"x": _nested(5000)}}]),
            "x: spec.sources[0].helm.x: nested more than 100 levels deep",
        ),
    ],
)
def test_application_errors_name_document_and_field(mutate: Any, message: str) -> None:
    data = copy.deepcopy(APP)
    mutate(data)
    with pytest.raises(ConfigError) as info:
        parse_application(data, "x")
    assert str(info.value).startswith(message)


def test_a_deep_but_bounded_spec_still_parses() -> None:
    data = app()
    data["spec"]["source"]["helm"] = {"valuesObject": _nested(95)}
    parsed = parse_application(data, "x")
    assert parsed.source is not None
    assert parsed.source.helm is not None


def test_load_applications_reads_every_document_and_skips_empty_ones() -> None:
    text = FOUNDING_EXAMPLE + "---\n---\n" + FOUNDING_EXAMPLE.replace("myapp-argo", "second")
    names = [a.name for a in load_applications(text, "apps.yaml")]
    assert names == ["myapp-argo-application", "second-application"]


def test_yaml_errors_name_file_and_line() -> None:
    text = FOUNDING_EXAMPLE + "---\nkind: Application\nmetadata:\n  name: [broken\n"
    with pytest.raises(ConfigError, match=r"^apps\.yaml:2[01]: invalid YAML"):
        load_applications(text, "apps.yaml")


def test_non_application_documents_are_errors_naming_the_index() -> None:
    text = FOUNDING_EXAMPLE + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"
    with pytest.raises(ConfigError, match=r"^apps\.yaml: document 2: not an argoproj.io"):
        load_applications(text, "apps.yaml")


def test_field_errors_in_later_documents_name_the_document() -> None:
    broken = FOUNDING_EXAMPLE.replace("    path: dev\n", "    path: 7\n")
    with pytest.raises(ConfigError, match=r"^a\.yaml: document 2: spec\.source\.path: expected"):
        load_applications(FOUNDING_EXAMPLE + "---\n" + broken, "a.yaml")


def test_timestamps_stay_strings() -> None:
    text = FOUNDING_EXAMPLE.replace(
        "  name: myapp-argo-application\n",
        "  name: myapp-argo-application\n  annotations:\n    since: 2024-01-01\n",
    )
    [a] = load_applications(text, "a.yaml")
    assert a.raw["metadata"]["annotations"]["since"] == "2024-01-01"
