"""Plans order tasks as Argo CD does: phase > wave > kind > name; options per resource."""

from __future__ import annotations

from typing import Any

import pytest

from gitward.appstate.comparison import Comparison, ResourceState
from gitward.model.application import parse_application
from gitward.model.errors import ConfigError
from gitward.model.ordering import hook_delete_policies, hook_phases, kind_rank, wave
from gitward.model.phases import SyncPhase
from gitward.model.status import Health, HealthStatus, SyncStatus
from gitward.model.tracking import ResourceKey
from gitward.sync.plan import PRUNE_LAST_WAVE, SyncRequest, build_plan

APP = parse_application(
    {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "a"},
        "spec": {
            "source": {"repoURL": "file:///r", "path": "p"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "ns"},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
        },
    },
    "test",
)


def obj(kind: str, name: str, api: str = "v1") -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": "ns"}}


def state(o: dict[str, Any], *, prune: bool = False, synced: bool = False) -> ResourceState:
    return ResourceState(
        ResourceKey.of(o),
        o["apiVersion"],
        None if prune else o,
        o if (prune or synced) else None,
        SyncStatus.SYNCED if synced else SyncStatus.OUT_OF_SYNC,
        Health(HealthStatus.HEALTHY),
        requires_pruning=prune,
    )


def comparison(*states: ResourceState) -> Comparison:
    return Comparison(
        APP, "sha", SyncStatus.OUT_OF_SYNC, Health(HealthStatus.HEALTHY), list(states)
    )


def annotated(kind: str, name: str, api: str = "v1", **annotations: str) -> dict[str, Any]:
    o = obj(kind, name, api)
    o["metadata"]["annotations"] = annotations
    return o


def test_kind_order_then_name_within_a_wave() -> None:
    plan = build_plan(
        comparison(
            state(obj("Deployment", "web", "apps/v1")),
            state(obj("Service", "web")),
            state(obj("ConfigMap", "b")),
            state(obj("ConfigMap", "a")),
            state(obj("Namespace", "ns")),
            state(obj("Widget", "w", "example.com/v1")),
        ),
        APP,
        SyncRequest(),
    )
    assert [(t.key.kind, t.key.name) for t in plan] == [
        ("Namespace", "ns"),
        ("ConfigMap", "a"),
        ("ConfigMap", "b"),
        ("Service", "web"),
        ("Deployment", "web"),
        ("Widget", "w"),
    ]


def test_phases_and_waves() -> None:
    hook = "argocd.argoproj.io/hook"
    sync_wave = "argocd.argoproj.io/sync-wave"
    plan = build_plan(
        comparison(
            state(annotated("ConfigMap", "post", **{hook: "PostSync"})),
            state(annotated("ConfigMap", "late", **{sync_wave: "5"})),
            state(annotated("ConfigMap", "early", **{sync_wave: "-2"})),
            state(annotated("Job", "migrate", "batch/v1", **{hook: "PreSync"})),
            state(annotated("ConfigMap", "fail", **{hook: "SyncFail"})),
            state(obj("ConfigMap", "plain")),
        ),
        APP,
        SyncRequest(),
    )
    assert [(t.phase, t.key.name) for t in plan] == [
        (SyncPhase.PRE_SYNC, "migrate"),
        (SyncPhase.SYNC, "early"),
        (SyncPhase.SYNC, "plain"),
        (SyncPhase.SYNC, "late"),
        (SyncPhase.POST_SYNC, "post"),
        (SyncPhase.SYNC_FAIL, "fail"),
    ]
    assert [t.action for t in plan] == ["hook", "apply", "apply", "apply", "hook", "hook"]


def test_prune_last_and_per_resource_options() -> None:
    options = "argocd.argoproj.io/sync-options"
    plan = build_plan(
        comparison(
            state(annotated("ConfigMap", "last", **{options: "PruneLast=true"}), prune=True),
            state(obj("ConfigMap", "gone"), prune=True),
            state(obj("ConfigMap", "kept")),
        ),
        APP,
        SyncRequest(prune=True),
    )
    assert [(t.action, t.key.name) for t in plan] == [
        ("apply", "kept"),
        ("prune", "gone"),
        ("prune", "last"),
    ]
    assert plan[-1].wave == PRUNE_LAST_WAVE
    assert plan[0].options.flag("CreateNamespace")


def test_resource_filter_and_skip_hook() -> None:
    plan = build_plan(
        comparison(
            state(obj("ConfigMap", "a")),
            state(obj("ConfigMap", "b")),
            state(annotated("ConfigMap", "skipped", **{"argocd.argoproj.io/hook": "Skip"})),
        ),
        APP,
        SyncRequest(resources=frozenset({("", "ConfigMap", "b"), ("", "ConfigMap", "skipped")})),
    )
    assert [t.key.name for t in plan] == ["b"]


def test_helm_hooks_without_an_argo_cd_phase_are_never_applied() -> None:
    plan = build_plan(
        comparison(
            state(obj("ConfigMap", "plain")),
            state(annotated("Pod", "smoke-test", **{"helm.sh/hook": "test"})),
            state(annotated("Job", "undo", "batch/v1", **{"helm.sh/hook": "pre-rollback"})),
            state(annotated("Job", "migrate", "batch/v1", **{"helm.sh/hook": "pre-upgrade"})),
        ),
        APP,
        SyncRequest(),
    )
    assert [(t.key.name, t.action, t.phase) for t in plan] == [
        ("migrate", "hook", SyncPhase.PRE_SYNC),
        ("plain", "apply", SyncPhase.SYNC),
    ]


def test_annotation_parsing_errors_and_defaults() -> None:
    with pytest.raises(ConfigError, match="sync-wave: not an integer"):
        wave(annotated("ConfigMap", "x", **{"argocd.argoproj.io/sync-wave": "soon"}))
    with pytest.raises(ConfigError, match="unknown hook 'Later'"):
        hook_phases(annotated("ConfigMap", "x", **{"argocd.argoproj.io/hook": "Later"}))
    helm = annotated(
        "Job", "j", "batch/v1", **{"helm.sh/hook": "pre-install", "helm.sh/hook-weight": "-3"}
    )
    assert hook_phases(helm) == [SyncPhase.PRE_SYNC]
    assert wave(helm) == -3
    assert hook_delete_policies(obj("Job", "j")) == {"BeforeHookCreation"}
    assert kind_rank("Namespace") < kind_rank("CustomResourceDefinition") < kind_rank("Widget")
    with pytest.raises(ConfigError, match="unknown sync option 'Prunes'"):
        build_plan(
            comparison(
                state(
                    annotated(
                        "ConfigMap", "x", **{"argocd.argoproj.io/sync-options": "Prunes=false"}
                    )
                )
            ),
            APP,
            SyncRequest(),
        )


def test_a_resource_outside_the_project_is_failed_by_the_plan_and_never_runs() -> None:
    refused = state(obj("ConfigMap", "outside"))
    refused.violation = "ConfigMap/outside: namespace kube-system is not a permitted destination"
    hook = annotated("Job", "migrate", "batch/v1", **{"argocd.argoproj.io/hook": "PreSync"})
    refused_hook = state(hook)
    refused_hook.violation = "Job/migrate: namespaced kind batch/Job is not permitted"
    tasks = build_plan(
        comparison(state(obj("ConfigMap", "inside")), refused, refused_hook), APP, SyncRequest()
    )
    by_name = {t.key.name: t for t in tasks}
    assert not by_name["inside"].done
    assert not by_name["inside"].violation
    outside = by_name["outside"]
    assert (outside.status, outside.message, outside.refused) == (
        "SyncFailed",
        refused.violation,
        True,
    )
    migrate = by_name["migrate"]
    # A forbidden hook fails its phase like a failed hook; it does not count as "refused".
    assert (migrate.hook_phase, migrate.failed, migrate.refused) == ("Failed", True, False)
